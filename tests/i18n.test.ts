// Languages end to end: readers who chose English (`lang` on subscribe) get an alert's English
// text, by email (subject and body, in an English template) and by push (the decrypted payload,
// with its `lang`), while French readers get the default text; revisions carry their own texts;
// the confirmation mail and every page behind an email's link speak the reader's language; the
// push payload limit is checked in each language.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, type Stack } from './support/stack';
import { confirmEmail, mailsOf, subscribePush } from './support/newsroom';
import { linkIn, mailsTo } from './support/email';
import type { TestSubscriber } from './support/push-service';

let s: Stack;
before(async () => {
  s = await startStack();
});
after(async () => {
  await s.stop();
});

const post = (path: string, body?: unknown) => s.api('POST', path, body, editor());
const html = { accept: 'text/html' };

/** A browser subscribes from a page in `lang`. */
async function subscribePushIn(lang: string): Promise<TestSubscriber> {
  const b = s.push.newSubscriber();
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, lang });
  assert.equal(r.status, 201, r.text);
  return b;
}

interface Payload {
  id: string;
  rev: number;
  title: string;
  body: string;
  url: string;
  lang: string;
}
/** The decrypted payload one browser got for one revision. */
function pushTo(b: TestSubscriber, id: string, rev: number): Payload {
  const got = s.push.messages
    .map((m) => ({ m, p: m.json() as Payload }))
    .filter(({ m, p }) => m.subscriberId === b.id && p.id === id && p.rev === rev);
  assert.equal(got.length, 1, `one push of ${id} rev ${rev} to ${b.id}`);
  return got[0].p;
}
function mailTo(address: string, id: string, rev: number) {
  const got = mailsOf(s, id).filter((m) => m.to.includes(address) && (m.headers['message-id'] ?? '').startsWith(`<${id}.${rev}.`));
  assert.equal(got.length, 1, `one mail of ${id} rev ${rev} to ${address}`);
  return got[0];
}

test('an alert with French and English texts reaches French and English readers, by email and push, each in their language', async () => {
  await confirmEmail(s, 'lectrice@exemple.fr');
  await confirmEmail(s, 'reader@example.com', { lang: 'en' });
  const frPush = await subscribePush(s);
  const enPush = await subscribePushIn('en');

  const pub = await post('/api/alerts', {
    title: 'Séisme au large du Japon : alerte au tsunami',
    body: 'Les habitants des côtes sont appelés à évacuer.',
    url: 'https://www.exemple.fr/seisme',
    texts: {
      en: {
        title: 'Earthquake off Japan: tsunami warning',
        body: 'Coastal residents are told to evacuate.',
        url: 'https://www.example.com/quake',
      },
    },
  });
  assert.equal(pub.status, 202, pub.text);
  const id = String(pub.json.id);
  const view = await s.delivered(id);
  assert.equal(view.delivery.email.sent, 2);
  assert.equal(view.delivery.push.sent, 2);
  // The editor's API shows the texts as given.
  const texts = (await s.api('GET', `/api/alerts/${id}`, undefined, editor())).json.texts;
  assert.equal(String(texts.en.title), 'Earthquake off Japan: tsunami warning');
  assert.equal(String(texts.en.url), 'https://www.example.com/quake');

  const fr = mailTo('lectrice@exemple.fr', id, 1);
  assert.equal(fr.subject, 'Séisme au large du Japon\u00a0: alerte au tsunami');
  assert.match(fr.text, /Les habitants des côtes/);
  assert.match(fr.text, /Lire l’article/);
  assert.match(fr.html, /<html lang="fr"/);
  const en = mailTo('reader@example.com', id, 1);
  assert.equal(en.subject, 'Earthquake off Japan: tsunami warning');
  assert.match(en.text, /^ALERT — Earthquake off Japan: tsunami warning/m);
  assert.match(en.text, /Coastal residents are told to evacuate\./);
  assert.match(en.text, /Read the article: /);
  assert.match(en.text, /Sent on \w+,? \d+ \w+ \d{4}\s+at\s+\d+:\d{2}\s+\(Paris\s+time\)/);
  assert.match(en.text, /Manage my preferences: /);
  assert.doesNotMatch(en.text, /Séisme|Lire l’article|Envoyée le/);
  assert.match(en.html, /<html lang="en"/);

  const pf = pushTo(frPush, id, 1);
  assert.deepEqual(
    [pf.title, pf.body, pf.url, pf.lang],
    [
      'Séisme au large du Japon : alerte au tsunami',
      'Les habitants des côtes sont appelés à évacuer.',
      'https://www.exemple.fr/seisme',
      'fr',
    ],
  );
  const pe = pushTo(enPush, id, 1);
  assert.deepEqual(
    [pe.title, pe.body, pe.url, pe.lang],
    ['Earthquake off Japan: tsunami warning', 'Coastal residents are told to evacuate.', 'https://www.example.com/quake', 'en'],
  );

  // A correction carries its own texts: « Rectificatif » for one, “Correction” for the other.
  const cor = await post(`/api/alerts/${id}/corrections`, {
    title: 'Séisme au large du Japon : pas de tsunami',
    body: 'L’alerte au tsunami a été levée.',
    texts: { en: { title: 'Earthquake off Japan: no tsunami', body: 'The tsunami warning has been lifted.' } },
  });
  assert.equal(cor.status, 202, cor.text);
  await s.delivered(id);
  assert.equal(mailTo('lectrice@exemple.fr', id, 2).subject, 'Rectificatif\u00a0: Séisme au large du Japon\u00a0: pas de tsunami');
  assert.equal(mailTo('reader@example.com', id, 2).subject, 'Correction: Earthquake off Japan: no tsunami');
  assert.equal(pushTo(enPush, id, 2).title, 'Correction: Earthquake off Japan: no tsunami');
  assert.equal(pushTo(enPush, id, 2).url, 'https://www.exemple.fr/seisme', 'no English link given: the alert’s own');
  assert.equal(pushTo(frPush, id, 2).title, 'Rectificatif\u00a0: Séisme au large du Japon : pas de tsunami');

  // An update without texts: English readers get the default text, in their own template by email;
  // a push is one language throughout, the default one.
  const upd = await post(`/api/alerts/${id}/updates`, { body: 'Le bilan s’alourdit.' });
  assert.equal(upd.status, 202, upd.text);
  await s.delivered(id);
  const enUpd = mailTo('reader@example.com', id, 3);
  assert.equal(enUpd.subject, 'Update: Séisme au large du Japon\u00a0: pas de tsunami');
  assert.match(enUpd.text, /Le bilan s’alourdit\./);
  assert.match(enUpd.text, /Read the article: /);
  const pu = pushTo(enPush, id, 3);
  assert.deepEqual([pu.body, pu.lang], ['Le bilan s’alourdit.', 'fr']);
});

test('a reader who subscribes in English gets the confirmation mail and every page behind its links in English', async () => {
  const address = 'newcomer@example.com';
  const n = s.smtp.messages.length;
  assert.equal((await s.api('POST', '/api/subscriptions/email', { email: address, lang: 'en' })).status, 202);
  await s.smtp.waitFor(n + 1, 5000);
  const mail = mailsTo(s, address, n)[0];
  assert.equal(mail.subject, 'Please confirm your alert subscription');
  assert.match(mail.text, /This link is valid until \w+,? \d+ \w+ \d{4}\s+at\s+\d+:\d{2}\s+\(Paris\s+time\)\./);
  assert.match(mail.html, /<html lang="en"/);
  const confirm = linkIn(mail.text, 'confirm');

  const page = await s.api('GET', confirm, undefined, html);
  assert.equal(page.status, 200);
  assert.match(page.text, /<html lang="en"/);
  assert.match(page.text, /Confirm my subscription/);
  const done = await s.api('POST', confirm, undefined, html);
  assert.equal(done.status, 200);
  assert.match(done.text, /Subscription confirmed/);

  const id = Number(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, address));
  const prefs = `/api/subscriptions/email/preferences?token=${s.app.domain.tokens.sign('prefs', id)}`;
  const p = await s.api('GET', prefs, undefined, html);
  assert.equal(p.status, 200);
  assert.match(p.text, /<html lang="en"/);
  assert.match(p.text, /Your email alerts/);
  assert.match(p.text, /You are getting our alerts\./);
  assert.match(p.text, /<option value="en" lang="en" selected>English<\/option>/);
  assert.match(p.text, /<option value="fr" lang="fr">Français<\/option>/);

  const unsub = `/api/subscriptions/email/unsubscribe?token=${s.app.domain.tokens.sign('unsubscribe', id)}`;
  const u = await s.api('GET', unsub, undefined, html);
  assert.match(u.text, /You will no longer get our alerts by email\. Do you confirm\?/);
  const left = await s.api('POST', unsub, undefined, html);
  assert.equal(left.status, 200);
  assert.match(left.text, /The address newcomer@example\.com will no longer get our alerts by email\./);

  // The confirmation link is spent now (the subscription changed since): refused in English too.
  const spent = await s.api('GET', confirm, undefined, html);
  assert.equal(spent.status, 410);
  assert.match(spent.text, /<html lang="en"/);
  assert.match(spent.text, /Link expired/);

  // The preference page changes the language, and answers in the new one.
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
  const changed = await fetch(`${s.base}${prefs}`, { method: 'POST', headers: form, body: 'action=lang&lang=fr' });
  assert.equal(changed.status, 200);
  const text = await changed.text();
  assert.match(text, /<html lang="fr"/);
  assert.match(text, /Vos préférences sont enregistrées\./);
  assert.equal((await s.app.domain.emailSubscribers.get(id))?.lang, 'fr');
  const refused = await fetch(`${s.base}${prefs}`, {
    method: 'POST',
    headers: { ...form, accept: 'application/json' },
    body: 'action=lang&lang=de',
  });
  assert.equal(refused.status, 400);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'invalid_lang');
  assert.equal((await s.app.domain.emailSubscribers.get(id))?.lang, 'fr', 'a refused language changes nothing');
});

test('the push payload limit is checked in each language: an English text that cannot fit is refused, naming it, and nothing is stored', async () => {
  const before = await s.app.domain.redis.zcard(s.app.domain.keys.alertIndex);
  const r = await post('/api/alerts', {
    title: 'Alerte',
    texts: { en: { title: 'Alert', body: 'Short.', url: `https://www.example.com/${'a'.repeat(2020)}` } },
  });
  assert.equal(r.status, 422, r.text);
  assert.equal(String(r.json.error.code), 'push_payload_too_large');
  assert.match(String(r.json.error.message), /^the en title \(texts\.en\) does not fit in a push message/);
  assert.equal(String(r.json.error.details.lang), 'en');
  assert.equal(await s.app.domain.redis.zcard(s.app.domain.keys.alertIndex), before, 'nothing stored');
  // The same English link on an email-only alert is fine: the limit is the push's.
  const email = await post('/api/alerts', {
    title: 'Alerte',
    channels: ['email'],
    texts: { en: { title: 'Alert', body: 'Short.', url: `https://www.example.com/${'a'.repeat(2020)}` } },
  });
  assert.equal(email.status, 202, email.text);
});

test('an imported push subscriber keeps its lang, the export gives it back, and a re-subscribe in another language moves it', async () => {
  const b = s.push.newSubscriber();
  const plain = s.push.newSubscriber();
  const body = [
    JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys }, lang: 'en' }),
    JSON.stringify({ subscription: { endpoint: plain.endpoint, keys: plain.keys } }),
    JSON.stringify({ subscription: { endpoint: s.push.newSubscriber().endpoint, keys: b.keys }, lang: 'de' }),
  ].join('\n');
  const imp = await s.api('POST', '/api/subscriptions/push/import', body, { 'content-type': 'application/x-ndjson', ...editor() });
  assert.equal(imp.status, 200, imp.text);
  assert.equal(Number(imp.json.imported), 2);
  assert.equal(Number(imp.json.rejected), 1, 'a language without a strings file is refused, line by line');
  const exportedLang = async (endpoint: string) => {
    const r = await s.api('GET', '/api/subscriptions/push/export', undefined, editor());
    const lines = r.text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { subscription: { endpoint: string }; lang?: string });
    return lines.find((l) => l.subscription.endpoint === endpoint)?.lang;
  };
  assert.equal(await exportedLang(b.endpoint), 'en');
  assert.equal(await exportedLang(plain.endpoint), undefined, 'no language chosen: none exported (the default applies)');
  const again = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, lang: 'fr' });
  assert.equal(again.status, 201);
  assert.equal(await exportedLang(b.endpoint), 'fr');
});
