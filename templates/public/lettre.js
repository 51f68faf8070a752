// The subscribe page's newsletter form: posts the address, the topics and quiet hours ticked in
// the push form above, and « chaque alerte » or « un résumé quotidien à HH:MM », then says in French
// what happened. It works in browsers without Web Push too. Messages come from the page's JSON
// data block (templates/i18n).
'use strict';

(function () {
  const messages = JSON.parse(document.getElementById('messages').textContent);
  const form = document.getElementById('lettre');
  const address = document.getElementById('lettre-adresse');
  const consent = document.getElementById('lettre-accord');
  const button = document.getElementById('lettre-envoyer');
  const time = document.getElementById('lettre-heure');
  const status = document.getElementById('lettre-etat');
  // Addresses this tab already asked a link for: our API answers the same whatever an address's
  // state (it must tell strangers nothing), so "already sent" is what the page itself remembers.
  const SENT_KEY = 'depeche-lettre-envoyee';

  function say(key, kind, vars) {
    status.textContent = (messages[key] || key).replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k]) || '');
    status.className = kind || '';
  }

  function sentBefore() {
    try {
      return JSON.parse(sessionStorage.getItem(SENT_KEY) || '[]');
    } catch {
      return [];
    }
  }
  function rememberSent(email) {
    try {
      sessionStorage.setItem(SENT_KEY, JSON.stringify([...new Set([...sentBefore(), email])].slice(-5)));
    } catch {
      /* private mode: the page just says "sent" again */
    }
  }

  function timeZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
    } catch {
      return undefined;
    }
  }

  function request() {
    const daily = form.querySelector('input[name="rythme"]:checked').value === 'daily';
    const topics = Array.from(document.querySelectorAll('#abonnement input[name="topics"]:checked')).map((b) => b.value);
    const quiet = document.getElementById('calme');
    const body = { email: address.value.trim(), topics, lang: document.documentElement.lang || 'fr' };
    const tz = timeZone();
    if (tz) body.timeZone = tz;
    if (daily) body.digest = time.value;
    else if (quiet && quiet.checked) body.quietHours = quiet.value;
    return body;
  }

  function invalidAddress() {
    address.setAttribute('aria-invalid', 'true');
    address.focus();
    say('page.newsletterInvalid', 'error');
  }

  async function send() {
    address.removeAttribute('aria-invalid');
    const body = request();
    if (!body.email || address.validity.typeMismatch) return invalidAddress();
    if (!consent.checked) {
      consent.focus();
      return say('page.newsletterConsent', 'error');
    }
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    say('page.newsletterSending');
    let res = null;
    let answer = null;
    try {
      res = await fetch('/api/subscriptions/email', {
        method: 'POST',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      answer = await res.json().catch(() => null);
    } catch {
      /* not reached: the generic message below */
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
    const error = (answer && answer.error) || {};
    const fields = Array.isArray(error.details) ? error.details.map((d) => d && d.field) : [];
    const vars = { email: body.email };
    const key = body.email.toLowerCase();
    if (res && res.status === 202) {
      say(sentBefore().includes(key) ? 'page.newsletterPending' : 'page.newsletterSent', 'ok', vars);
      rememberSent(key);
    } else if (res && res.status === 429) say('page.newsletterTooMany', 'error');
    else if (error.code === 'unknown_topic') say('page.newsletterUnknownTopic', 'error');
    else if (res && res.status === 400 && fields.includes('email')) invalidAddress();
    else if (res && res.status === 400 && fields.includes('digest')) say('page.newsletterBadTime', 'error');
    else say('page.newsletterServerFailed', 'error');
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  // Changing the time means the daily summary: tick it for the reader.
  time.addEventListener('change', () => {
    document.getElementById('rythme-jour').checked = true;
  });
})();
