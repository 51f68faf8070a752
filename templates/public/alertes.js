// The subscribe page: asks permission, subscribes the browser to Web Push, sends the subscription
// and chosen topics to our API, and says in plain French what happened. Messages come from the
// page's JSON data block (templates/i18n), so there is no text to translate in here.
/* global depeche -- set by commun.js, loaded before this script */
'use strict';

(function () {
  const messages = JSON.parse(document.getElementById('messages').textContent);
  const form = document.getElementById('abonnement');
  const subscribeButton = document.getElementById('recevoir');
  const unsubscribeButton = document.getElementById('desabonner');
  const status = document.getElementById('etat');
  const boxes = Array.from(form.querySelectorAll('input[name="topics"]'));
  const READY_TIMEOUT_MS = 20000;

  function say(key, kind, vars) {
    status.textContent = (messages[key] || key).replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k]) || '');
    status.className = kind || '';
  }

  function chosenTopics() {
    return boxes.filter((b) => b.checked).map((b) => b.value);
  }
  const quietBox = document.getElementById('calme');
  /** The quiet window the reader ticked, or undefined (the newsroom's default). */
  function chosenQuiet() {
    return quietBox && quietBox.checked ? quietBox.value : undefined;
  }

  function labelsOf(topics) {
    return boxes
      .filter((b) => topics.includes(b.value))
      .map((b) => b.parentElement.textContent.trim())
      .join(', ');
  }

  function showSubscribed(on) {
    unsubscribeButton.hidden = !on;
    subscribeButton.textContent = messages[on ? 'page.saveTopicsButton' : 'page.subscribeButton'];
  }

  function busy(on) {
    subscribeButton.disabled = on;
    unsubscribeButton.disabled = on;
    form.setAttribute('aria-busy', String(on));
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
  }

  // Old Safari takes a callback and returns nothing; everyone else returns a promise.
  function askPermission() {
    return new Promise((resolve) => {
      const p = Notification.requestPermission(resolve);
      if (p && typeof p.then === 'function') p.then(resolve, () => resolve('default'));
    });
  }

  async function registration() {
    await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    return withTimeout(navigator.serviceWorker.ready, READY_TIMEOUT_MS);
  }

  /** The browser's push subscription for our current VAPID key, made if needed. */
  async function browserSubscription() {
    const reg = await registration();
    const key = await depeche.applicationServerKey();
    let sub = await reg.pushManager.getSubscription();
    // A subscription made for an older key would be refused by the push service: replace it.
    if (sub && !depeche.sameKey(sub.options && sub.options.applicationServerKey, key)) {
      await sub.unsubscribe();
      sub = null;
    }
    return sub || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }

  async function subscribe() {
    const topics = chosenTopics();
    const quiet = chosenQuiet();
    const wasSubscribed = !unsubscribeButton.hidden;
    busy(true);
    try {
      // First, while the click still counts as a user gesture (Safari insists).
      const permission = await askPermission();
      if (permission === 'denied') return say('page.denied', 'error');
      if (permission !== 'granted') return say('page.dismissed', 'error');
      say('page.working');
      let sub;
      try {
        sub = await browserSubscription();
      } catch (e) {
        if (e instanceof depeche.ApiFailure) return say('page.serverFailed', 'error');
        return say(e && e.name === 'NotAllowedError' ? 'page.denied' : 'page.subscribeFailed', 'error');
      }
      try {
        await depeche.saveSubscription(sub, topics, quiet);
      } catch {
        return say('page.serverFailed', 'error');
      }
      await depeche.prefs.write({ topics, quiet }).catch(() => {});
      showSubscribed(true);
      const vars = { topics: labelsOf(topics) };
      if (wasSubscribed) say(topics.length ? 'page.topicsSaved' : 'page.topicsSavedAll', 'ok', vars);
      else say(topics.length ? 'page.subscribedTopics' : 'page.subscribed', 'ok', vars);
    } finally {
      busy(false);
    }
  }

  async function currentSubscription() {
    const reg = await navigator.serviceWorker.getRegistration('/');
    return reg ? reg.pushManager.getSubscription() : null;
  }

  async function unsubscribe() {
    busy(true);
    say('page.unsubscribing');
    try {
      const sub = await currentSubscription();
      if (sub) {
        // Our side first: if it fails, the reader is still subscribed everywhere and can retry.
        await depeche.forgetEndpoint(sub.endpoint);
        await sub.unsubscribe().catch(() => {});
      }
      await depeche.prefs.clear().catch(() => {});
      showSubscribed(false);
      say('page.unsubscribed', 'ok');
    } catch {
      say('page.unsubscribeFailed', 'error');
    } finally {
      busy(false);
      // The unsubscribe button may have just been hidden: keep keyboard focus on the page's action.
      if (unsubscribeButton.hidden) subscribeButton.focus();
    }
  }

  async function init() {
    const supported = window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
    if (!supported) return say('page.unsupported', 'error'); // the buttons stay disabled
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      subscribe();
    });
    unsubscribeButton.addEventListener('click', () => {
      unsubscribe();
    });
    subscribeButton.disabled = false;
    try {
      const sub = await currentSubscription();
      if (sub) {
        const prefs = await depeche.prefs.read();
        const topics = prefs ? prefs.topics : [];
        for (const b of boxes) b.checked = topics.includes(b.value);
        if (quietBox) quietBox.checked = Boolean(prefs && prefs.quiet);
        showSubscribed(true);
        say('page.alreadySubscribed');
        // Browsers may renew a subscription without telling the worker: resend it at each visit.
        // One made with an older VAPID key (it would stop working once that key leaves
        // VAPID_PREVIOUS_KEYS) is replaced, old and new endpoints swapped in one call.
        const choices = { topics, quiet: prefs ? prefs.quiet : undefined };
        const reg = await navigator.serviceWorker.getRegistration('/');
        depeche
          .renewIfKeyChanged(reg.pushManager, sub, choices)
          .then((now) => (now === sub ? depeche.saveSubscription(now, topics, choices.quiet) : null))
          .catch(() => {});
      } else if (Notification.permission === 'denied') {
        say('page.denied', 'error');
      }
    } catch {
      // The state is unknown, but the buttons still work.
    }
  }

  init();
})();
