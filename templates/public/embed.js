// dépêche's signup box for a news site's article pages. A site adds one tag, nothing inline:
//   <script src="https://alertes.example.fr/embed.js" async data-topics="international" data-lang="fr" data-sw="/sw.js"></script>
// The box appears right after the tag, or inside each <div data-depeche> of the page (same data-*
// attributes, read on the div first). It lives in a Shadow DOM: the site's CSS cannot reach it and
// its own stays inside. It offers the newsletter (posted to our API, cross-origin: the site's
// origin must be in CORS_ORIGINS) and, when `data-sw` names the site's one-line worker
// (`importScripts('https://alertes.example.fr/sw-core.js')` at the site's root), push alerts on
// this device. Why data-sw rather than probing: a first-time reader has no registration yet to
// find, and fetching /sw.js on every page view to look costs the site a request; the site knows.
'use strict';

(function () {
  const script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script || !script.src) return;
  // Our address is where this file came from, so a site copies one tag and configures nothing else.
  const BASE = script.src.replace(/\/embed\.js(?:[?#].*)?$/, '');
  const READY_TIMEOUT_MS = 20000;

  // The box's own small dictionary: one file, one request, and the box works whatever else fails.
  const TEXTS = {
    fr: {
      title: 'Newsletter — Restez informé(e) !',
      intro: 'Recevez nos alertes par courriel dès qu’une information importante tombe.',
      emailLabel: 'Votre adresse électronique',
      consent: 'J’accepte de recevoir les alertes de la rédaction par courriel. Chaque message contient un lien de désinscription.',
      submit: 'S’inscrire',
      push: 'Recevoir les alertes sur cet appareil',
      sending: 'Envoi en cours…',
      sent: 'C’est presque fini : vérifiez votre boîte de réception et cliquez sur le lien de confirmation.',
      pending:
        'Un lien de confirmation a déjà été envoyé à cette adresse : vérifiez votre boîte de réception (et le dossier des indésirables).',
      invalidEmail: 'Cette adresse électronique ne semble pas valide : vérifiez-la (par exemple prenom.nom@exemple.fr).',
      noConsent: 'Cochez la case pour accepter de recevoir nos courriels.',
      tooMany: 'Trop de tentatives depuis votre connexion : réessayez dans quelques minutes.',
      unknownTopic: 'Ce thème n’est plus proposé par la rédaction : l’inscription n’a pas pu se faire.',
      serverFailed: 'Nos serveurs n’ont pas pu enregistrer votre demande. Réessayez dans quelques instants.',
      pushWorking: 'Activation des alertes…',
      pushOn: 'C’est fait : vous recevrez nos alertes sur cet appareil, même quand ce site est fermé.',
      pushAlready: 'Les alertes sont activées sur cet appareil.',
      pushDenied: 'Vous avez bloqué les notifications pour ce site : autorisez-les dans les réglages du navigateur, puis réessayez.',
      pushDismissed: 'Vous n’avez pas autorisé les notifications : rien n’a changé.',
      pushFailed: 'Votre navigateur n’a pas réussi à s’inscrire auprès de son service de notifications. Réessayez dans quelques instants.',
    },
    en: {
      title: 'Newsletter — Stay informed!',
      intro: 'Get our alerts by email as soon as important news breaks.',
      emailLabel: 'Your email address',
      consent: 'I agree to receive the newsroom’s alerts by email. Every message has an unsubscribe link.',
      submit: 'Sign up',
      push: 'Get alerts on this device',
      sending: 'Sending…',
      sent: 'Almost done: check your inbox and click the confirmation link.',
      pending: 'A confirmation link was already sent to this address: check your inbox (and your spam folder).',
      invalidEmail: 'This email address does not look right: please check it (for example jane.doe@example.com).',
      noConsent: 'Tick the box to agree to receive our emails.',
      tooMany: 'Too many attempts from your connection: try again in a few minutes.',
      unknownTopic: 'The newsroom no longer offers this topic: the signup could not be made.',
      serverFailed: 'Our servers could not record your request. Please try again in a moment.',
      pushWorking: 'Turning alerts on…',
      pushOn: 'Done: you will get our alerts on this device, even when this site is closed.',
      pushAlready: 'Alerts are on for this device.',
      pushDenied: 'You have blocked notifications for this site: allow them in your browser’s site settings, then try again.',
      pushDismissed: 'You did not allow notifications: nothing has changed.',
      pushFailed: 'Your browser could not sign up with its notification service. Please try again in a moment.',
    },
  };
  // French typography: a no-break space before « : », a narrow one before « ; ! ? ».
  for (const key of Object.keys(TEXTS.fr)) {
    TEXTS.fr[key] = TEXTS.fr[key].replace(/ :/g, '\u00a0:').replace(/ ([;!?])/g, '\u202f$1');
  }

  // `all: initial` on the host cuts every inherited property of the page (font, colour, spacing);
  // `!important` there wins over the site's own rules on the host element itself.
  const CSS = `
:host { all: initial !important; display: block !important; width: 100% !important; contain: content; }
[hidden] { display: none !important; }
.box { box-sizing: border-box; width: 100%; margin: 1.5em 0; padding: 16px; background: #fff; color: #1a1a1a;
  border: 1px solid #d0d0d0; border-top: 4px solid #c8102e; border-radius: 4px;
  font: 16px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; text-align: left; }
*, *::before, *::after { box-sizing: border-box; }
h2 { margin: 0 0 4px; font: inherit; font-size: 1.2em; font-weight: 700; color: #1a1a1a; }
p { margin: 0 0 12px; }
form { display: flex; flex-wrap: wrap; gap: 10px 12px; align-items: flex-end; margin: 0; }
.field { flex: 1 1 16em; display: flex; flex-direction: column; gap: 4px; min-width: 0; }
label { font-weight: 600; cursor: pointer; }
input[type=email] { font: inherit; width: 100%; min-height: 44px; padding: 8px 10px; margin: 0; color: #1a1a1a; background: #fff;
  border: 2px solid #595959; border-radius: 4px; }
input[aria-invalid=true] { border-color: #a0001a; }
.consent { flex: 1 1 100%; display: flex; gap: 10px; align-items: flex-start; font-weight: 400; font-size: 0.9em; }
.consent input { flex: none; width: 20px; height: 20px; margin: 2px 0 0; accent-color: #c8102e; }
button { font: inherit; font-weight: 600; min-height: 44px; margin: 0; padding: 8px 18px; border-radius: 4px; cursor: pointer;
  color: #fff; background: #c8102e; border: 2px solid #c8102e; }
button.secondary { margin-top: 12px; color: #1a1a1a; background: #fff; border-color: #1a1a1a; }
button:disabled { opacity: 0.6; cursor: not-allowed; }
:focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; }
.status { min-height: 1.5em; margin: 12px 0 0; }
.status.error { color: #a0001a; }
.status.ok { color: #0b6b2f; }
`;

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const c of children || []) e.append(c);
    return e;
  }

  function styleInto(root) {
    // A constructed stylesheet is not subject to the site's style-src CSP; <style> is the fallback
    // for browsers without one (Safari before 16.4).
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(el('style', {}, [CSS]));
    }
  }

  function optionsOf(host) {
    const pick = (name) => {
      const own = host.getAttribute(`data-${name}`);
      return own !== null ? own : script.getAttribute(`data-${name}`);
    };
    const lang = (pick('lang') || document.documentElement.lang || 'fr').toLowerCase();
    return {
      topics: (pick('topics') || '').split(/[\s,]+/).filter(Boolean),
      lang: lang.startsWith('en') ? 'en' : 'fr',
      sw: pick('sw') || null,
    };
  }

  function timeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
    } catch {
      return undefined;
    }
  }

  /** POST JSON to our API; resolves to { status, body } (status 0: not reached, or refused by CORS). */
  async function post(path, body) {
    try {
      const res = await fetch(BASE + path, {
        method: 'POST',
        mode: 'cors',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    } catch {
      return { status: 0, body: null };
    }
  }

  function mount(host) {
    const opts = optionsOf(host);
    const t = TEXTS[opts.lang];
    const root = host.attachShadow({ mode: 'open' });
    styleInto(root);
    const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'etat' });
    const email = el('input', {
      id: 'adresse',
      type: 'email',
      name: 'email',
      autocomplete: 'email',
      inputmode: 'email',
      required: '',
      'aria-describedby': 'etat',
    });
    const consent = el('input', { id: 'accord', type: 'checkbox', required: '' });
    const submit = el('button', { type: 'submit' }, [t.submit]);
    const form = el('form', { novalidate: '', 'aria-labelledby': 'titre' }, [
      el('div', { class: 'field' }, [el('label', { for: 'adresse' }, [t.emailLabel]), email]),
      el('label', { class: 'consent', for: 'accord' }, [consent, el('span', {}, [t.consent])]),
      submit,
    ]);
    const pushButton = el('button', { type: 'button', class: 'secondary', hidden: '' }, [t.push]);
    root.append(
      el('div', { class: 'box', lang: opts.lang }, [
        el('h2', { id: 'titre' }, [t.title]),
        el('p', {}, [t.intro]),
        form,
        pushButton,
        status,
      ]),
    );

    function say(key, kind) {
      status.textContent = t[key];
      status.className = `status ${kind || ''}`;
    }

    const sentTo = new Set();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const address = email.value.trim();
      email.removeAttribute('aria-invalid');
      if (!address || email.validity.typeMismatch) {
        email.setAttribute('aria-invalid', 'true');
        email.focus();
        return say('invalidEmail', 'error');
      }
      if (!consent.checked) {
        consent.focus();
        return say('noConsent', 'error');
      }
      submit.disabled = true;
      say('sending');
      const tz = timeZone();
      const res = await post('/api/subscriptions/email', {
        email: address,
        topics: opts.topics,
        lang: opts.lang,
        ...(tz ? { timeZone: tz } : {}),
      });
      submit.disabled = false;
      const code = res.body && res.body.error ? res.body.error.code : '';
      const fields = res.body && res.body.error && Array.isArray(res.body.error.details) ? res.body.error.details : [];
      if (res.status === 202) {
        // Our API answers the same whatever the address's state; "already sent" is what this box knows.
        say(sentTo.has(address.toLowerCase()) ? 'pending' : 'sent', 'ok');
        sentTo.add(address.toLowerCase());
      } else if (res.status === 429) say('tooMany', 'error');
      else if (code === 'unknown_topic') say('unknownTopic', 'error');
      else if (res.status === 400 && fields.some((f) => f && f.field === 'email')) {
        email.setAttribute('aria-invalid', 'true');
        email.focus();
        say('invalidEmail', 'error');
      } else say('serverFailed', 'error');
    });

    const canPush =
      opts.sw && window.isSecureContext && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
    if (!canPush) return;
    pushButton.hidden = false;
    pushButton.addEventListener('click', () => {
      turnOnPush(opts, say, pushButton);
    });
    // A reader who already turned alerts on here is told so instead of being asked again.
    navigator.serviceWorker
      .getRegistration('/')
      .then((reg) => (reg ? reg.pushManager.getSubscription() : null))
      .then((sub) => {
        if (sub) {
          pushButton.hidden = true;
          say('pushAlready');
        }
      })
      .catch(() => {});
  }

  function askPermission() {
    // Old Safari takes a callback and returns nothing; everyone else returns a promise.
    return new Promise((resolve) => {
      const p = Notification.requestPermission(resolve);
      if (p && typeof p.then === 'function') p.then(resolve, () => resolve('default'));
    });
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);
  }

  function bytesOf(b64url) {
    const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
    const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function sameKey(a, b) {
    if (!a) return true; // the browser does not say: keep the subscription it has
    const x = new Uint8Array(a);
    return x.length === b.length && x.every((v, i) => v === b[i]);
  }

  /**
   * The reader's topics where sw-core.js looks for them when the browser renews the subscription
   * (commun.js's IndexedDB record, on the site's origin, which is where the worker runs).
   */
  function rememberTopics(topics) {
    return new Promise((resolve) => {
      const req = indexedDB.open('depeche', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('reglages');
      req.onerror = () => resolve();
      req.onsuccess = () => {
        const db = req.result;
        const tx = db.transaction('reglages', 'readwrite');
        tx.objectStore('reglages').put({ topics }, 'abonnement');
        tx.oncomplete =
          tx.onerror =
          tx.onabort =
            () => {
              db.close();
              resolve();
            };
      };
    });
  }

  async function turnOnPush(opts, say, button) {
    button.disabled = true;
    try {
      // First, while the click still counts as a user gesture (Safari insists).
      const permission = await askPermission();
      if (permission === 'denied') return say('pushDenied', 'error');
      if (permission !== 'granted') return say('pushDismissed', 'error');
      say('pushWorking');
      let sub, publicKey;
      try {
        // The site's own worker (its one line imports our sw-core.js), so the subscription belongs
        // to the site's origin, as browsers require of the page that asks.
        await navigator.serviceWorker.register(opts.sw, { scope: '/' });
        const reg = await withTimeout(navigator.serviceWorker.ready, READY_TIMEOUT_MS);
        const res = await fetch(`${BASE}/api/push/public-key`, { mode: 'cors', credentials: 'omit' });
        if (!res.ok) return say('serverFailed', 'error');
        publicKey = (await res.json()).publicKey;
        const key = bytesOf(publicKey);
        sub = await reg.pushManager.getSubscription();
        if (sub && !sameKey(sub.options && sub.options.applicationServerKey, key)) {
          await sub.unsubscribe();
          sub = null;
        }
        sub = sub || (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
      } catch (e) {
        return say(e && e.name === 'NotAllowedError' ? 'pushDenied' : 'pushFailed', 'error');
      }
      const tz = timeZone();
      const saved = await post('/api/subscriptions/push', {
        subscription: sub.toJSON(),
        topics: opts.topics,
        applicationServerKey: publicKey,
        lang: opts.lang,
        ...(tz ? { timeZone: tz } : {}),
      });
      if (saved.status === 429) return say('tooMany', 'error');
      if (saved.status !== 201)
        return say(saved.body && saved.body.error && saved.body.error.code === 'unknown_topic' ? 'unknownTopic' : 'serverFailed', 'error');
      await rememberTopics(opts.topics);
      // The button stays (pressing it again only updates the subscription): focus is not lost.
      say('pushOn', 'ok');
    } finally {
      button.disabled = false;
    }
  }

  function mountAll() {
    const hosts = Array.from(document.querySelectorAll('[data-depeche]')).filter((h) => !h.shadowRoot);
    // Without a <div data-depeche>, the box goes where the tag is (in the page's body).
    if (hosts.length === 0 && !script.hasAttribute('data-depeche-done') && document.body && document.body.contains(script)) {
      const host = el('div', { 'data-depeche-box': '' });
      script.after(host);
      hosts.push(host);
    }
    script.setAttribute('data-depeche-done', '');
    for (const host of hosts) mount(host);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mountAll);
  else mountAll();
})();
