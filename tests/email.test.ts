// The newsletter as a reader and a mailbox provider see it: both parts, headers, escaping, French
// typography, the editor's preview, and what happens when the SMTP server refuses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startStack, editor, until, type Stack } from './support/stack';
import { deliveredOnceAfterRetry, linkIn, mailsTo, seedConfirmed, subscribeAndConfirm } from './support/email';
import { launchChromium } from './support/browser';

const NNBSP = '\u202f';
const NBSP = '\u00a0';

let s: Stack;
let browser: Browser;
before(async () => {
  [s, browser] = await Promise.all([startStack(), launchChromium()]);
});
after(async () => {
  await browser.close();
  await s.stop();
});

async function publish(body: Record<string, unknown>): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { channels: ['email'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
}

test('an alert email: text and HTML parts, headers, French typography, escaping', async () => {
  await subscribeAndConfirm(s, 'lectrice@exemple.fr');
  await subscribeAndConfirm(s, 'lecteur@exemple.fr');
  const n = s.smtp.messages.length;
  const title = 'Urgent: <script>alert("x")</script> & "trêve" signée à Bakou !';
  const id = await publish({
    title,
    body: 'Les combats ont cessé ce matin ; la trêve tient-elle ?\n\nSuite à 14:05, voir https://exemple.fr/a?b=1;c=2 : tout y est.',
    url: 'https://www.exemple.fr/monde/bakou?x=1&y=2',
  });
  const view = await s.delivered(id);
  assert.deepEqual(view.delivery.email, { targeted: 2, sent: 2, failed: 0, bounced: 0, complained: 0 });
  const [mail] = mailsTo(s, 'lectrice@exemple.fr', n);
  assert.ok(mail);

  // Subject: UTF-8, encoded on the wire, French spacing, one line.
  assert.equal(
    mail.subject,
    `Urgent${NBSP}: <script>alert(«${NNBSP}x${NNBSP}»)</script> & «${NNBSP}trêve${NNBSP}» signée à Bakou${NNBSP}!`,
  );
  assert.match(mail.raw, /^Subject: =\?UTF-8\?/m);

  // Headers a mailbox provider checks.
  const unsub = /^<(https:\/\/alertes\.example\.fr\/api\/subscriptions\/email\/unsubscribe\?token=[\w.-]+)>$/.exec(
    mail.headers['list-unsubscribe'],
  );
  assert.ok(unsub, mail.headers['list-unsubscribe']);
  assert.equal(mail.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click');
  assert.match(mail.headers['message-id'], new RegExp(`^<${id}\\.1\\.\\d+@alertes\\.example\\.fr>$`));
  const date = Date.parse(mail.headers.date);
  assert.ok(Math.abs(Date.now() - date) < 5 * 60_000, `Date header ${mail.headers.date}`);
  assert.equal(mail.headers['list-id'], '<alertes.alertes.example.fr>');
  assert.match(mail.headers['content-type'], /^multipart\/alternative/);

  // Text part: a real one, with the article, the date in Paris time and the personal links.
  const created = new Date(view.createdAt);
  const paris = new Intl.DateTimeFormat('fr-FR', {
    timeZone: 'Europe/Paris',
    hour: 'numeric',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(created);
  const hm = `${Number(paris.find((p) => p.type === 'hour')!.value)}${NBSP}h${NBSP}${paris.find((p) => p.type === 'minute')!.value}`;
  assert.match(mail.text, new RegExp(`Envoyée le \\S+ \\d+(er)? \\S+ \\d{4} à ${hm}`));
  assert.ok(mail.text.includes(`ce matin${NNBSP}; la trêve tient-elle${NNBSP}?`), mail.text);
  assert.ok(mail.text.includes('Suite à 14:05, voir https://exemple.fr/a?b=1;c=2' + NBSP + ': tout y est.'), 'times and URLs stay intact');
  // The article link goes through /r/<token> (a click counts once), and on to the article only.
  const article = new RegExp(`Lire l’article${NBSP}: https://alertes\\.example\\.fr(/r/[\\w.-]+)`).exec(mail.text)?.[1];
  assert.ok(article, mail.text);
  const hop = await s.api('GET', article);
  assert.equal(hop.status, 302);
  assert.equal(hop.headers.get('location'), 'https://www.exemple.fr/monde/bakou?x=1&y=2');
  assert.ok(mail.text.includes('<script>alert'), 'the text part shows the title as typed');
  assert.equal(linkIn(mail.text, 'unsubscribe'), unsub[1].replace('https://alertes.example.fr', ''));
  linkIn(mail.text, 'preferences');

  // HTML part: escaped, and links that carry the reader's own tokens.
  assert.ok(!/<script/i.test(mail.html), 'no script element in the HTML');
  assert.ok(mail.html.includes('&lt;script&gt;'));
  assert.ok(mail.html.includes(`href="https://alertes.example.fr${article}"`));
  assert.ok(mail.html.includes(`href="${unsub[1]}"`));
  assert.match(mail.html, /style="[^"]*max-width: ?600px/, 'CSS is inlined');
  assert.match(mail.html, /@media \(max-width: 480px\)/, 'the phone rules stay in a style element');

  // Every recipient has their own links.
  const other = mailsTo(s, 'lecteur@exemple.fr', n)[0];
  assert.notEqual(other.headers['list-unsubscribe'], mail.headers['list-unsubscribe']);
  assert.notEqual(linkIn(other.text, 'preferences'), linkIn(mail.text, 'preferences'));

  // What the reader sees in a real browser, on a phone.
  const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
  try {
    await page.setContent(mail.html);
    assert.equal(await page.locator('script').count(), 0);
    const h1 = await page.locator('h1').innerText();
    assert.ok(h1.includes('<script>alert('), `title shown as text: ${h1}`);
    assert.ok(await page.getByRole('link', { name: 'Lire l’article' }).isVisible());
    assert.ok(await page.getByRole('link', { name: 'Se désabonner' }).isVisible());
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `no horizontal scrolling on a phone (${overflow}px)`);
  } finally {
    await page.close();
  }
});

test('GET /api/alerts/:id/preview/email: the editor sees the rendered email, strangers do not', async () => {
  const id = await publish({ title: 'Aperçu : <b>gras</b> ?', body: 'Texte', channels: ['push'] });
  const html = await s.api('GET', `/api/alerts/${id}/preview/email`, undefined, editor());
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type')!, /^text\/html/);
  assert.match(html.headers.get('content-security-policy')!, /default-src 'none'/);
  assert.ok(html.text.includes(`Aperçu${NBSP}: &lt;b&gt;gras&lt;/b&gt;${NNBSP}?`));
  assert.ok(html.text.includes('/api/subscriptions/email/unsubscribe?token=apercu'));
  const text = await s.api('GET', `/api/alerts/${id}/preview/email?format=text`, undefined, editor());
  assert.match(text.headers.get('content-type')!, /^text\/plain; charset=utf-8/);
  assert.ok(text.text.includes('<b>gras</b>'));
  const json = await s.api('GET', `/api/alerts/${id}/preview/email?format=json`, undefined, editor());
  assert.equal(String(json.json.subject), `Aperçu${NBSP}: <b>gras</b>${NNBSP}?`);

  assert.equal((await s.api('GET', `/api/alerts/${id}/preview/email`)).status, 401);
  const missing = await s.api('GET', '/api/alerts/zzzzzzzzzzzz/preview/email', undefined, editor());
  assert.equal(missing.status, 404);
  assert.equal(String(missing.json.error.code), 'not_found');
  assert.equal((await s.api('GET', `/api/alerts/${id}/preview/email?format=pdf`, undefined, editor())).status, 400);
});

test('a 550 on RCPT is a hard bounce: counted, suppressed, never tried again', async () => {
  const [gone] = await seedConfirmed(s, ['parti@exemple.fr']);
  await seedConfirmed(s, ['reste@exemple.fr']);
  s.smtp.setRcptReject('parti@exemple.fr', 550, '5.1.1 No such user');
  const n = s.smtp.messages.length;
  const id = await publish({ title: 'Rebond', body: '' });
  const view = await s.delivered(id);
  assert.equal(view.delivery.email.bounced, 1);
  assert.equal(view.delivery.email.failed, 0);
  assert.equal(view.delivery.email.sent, view.delivery.email.targeted - 1);
  assert.equal(mailsTo(s, 'parti@exemple.fr', n).length, 0);
  assert.equal(mailsTo(s, 'reste@exemple.fr', n).length, 1);
  const sub = await s.app.domain.emailSubscribers.get(gone);
  assert.equal(sub!.status, 'bounced');
  assert.ok(sub!.bouncedAt);
  const active = await s.app.domain.redis.getbit(s.app.domain.keys.audActive('email'), gone);
  assert.equal(active, 0);

  // The next alert does not even knock on its door.
  const refusals = s.smtp.refusals.length;
  const next = await s.delivered(await publish({ title: 'Après le rebond', body: '' }));
  assert.equal(s.smtp.refusals.length, refusals);
  assert.equal(next.delivery.email.targeted, view.delivery.email.targeted - 1);
  assert.equal(next.delivery.email.bounced, 0);
  s.smtp.reset();
});

test('a policy refusal (550 5.7.1) fails the message but keeps the subscriber', async () => {
  const [id] = await seedConfirmed(s, ['filtre@exemple.fr']);
  s.smtp.setRcptReject('filtre@exemple.fr', 550, '5.7.1 Message refused by policy');
  const view = await s.delivered(await publish({ title: 'Politique de filtrage', body: '' }));
  assert.equal(view.delivery.email.failed, 1);
  assert.equal(view.delivery.email.bounced, 0);
  assert.equal((await s.app.domain.emailSubscribers.get(id))!.status, 'confirmed');
  s.smtp.reset();
});

test('SMTP 451 is retried with backoff: everyone gets the alert once', async () => {
  const before = await s.app.domain.audience.count('email', null);
  s.smtp.setTempFail(true);
  const n = s.smtp.messages.length;
  const id = await publish({ title: 'Serveur encombré', body: '' });
  await until(async () => s.smtp.refusals.length > 0, 5000);
  s.smtp.setTempFail(false);
  await deliveredOnceAfterRetry(s, id, before, n);
  s.smtp.reset();
});

test('SMTP server down (connection refused) then back: delivered once each, nothing lost', async () => {
  const before = await s.app.domain.audience.count('email', null);
  const n = s.smtp.messages.length;
  await s.smtp.pause();
  const id = await publish({ title: 'Serveur en panne', body: '' });
  await until(async () => (await s.alert(id)).delivery.email.targeted > 0, 5000);
  await new Promise((r) => setTimeout(r, 300));
  await s.smtp.resume();
  await deliveredOnceAfterRetry(s, id, before, n);
});

test('addresses are validated strictly: 400, nothing stored, nothing sent', async () => {
  const d = s.app.domain;
  const stored = await s.app.domain.redis.hlen(d.keys.emailIndex);
  const n = s.smtp.messages.length;
  const bad = [
    '"a@gmail.com x"@internal.example',
    'a@b.example, c@d.example',
    'victime@exemple.fr\r\nBcc: tous@exemple.fr',
    'victime@exemple.fr\n',
    'Jean Dupont <jean@exemple.fr>',
    'jean@exemple',
    'jean@127.0.0.1',
    'jean@[127.0.0.1]',
    `${'x'.repeat(65)}@exemple.fr`,
    `jean@${'d'.repeat(250)}.fr`,
    'jean..dupont@exemple.fr',
    'jéan@exemple.fr',
    'jean@exem\u200bple.fr',
  ];
  for (const email of bad) {
    const r = await s.api('POST', '/api/subscriptions/email', { email });
    assert.equal(r.status, 400, `${JSON.stringify(email)} → ${r.status}`);
    assert.equal(String(r.json.error.code), 'invalid_input');
    assert.match(String(r.json.error.message), /^email: the address /);
    assert.ok(!r.text.includes('    at '), 'no stack trace');
  }
  assert.equal(await s.app.domain.redis.hlen(d.keys.emailIndex), stored, 'nothing stored');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(s.smtp.messages.length, n, 'nothing sent');

  // Internationalised domains are fine, and reach the server as punycode.
  const r = await s.api('POST', '/api/subscriptions/email', { email: 'lea@hôtel-de-ville.fr' });
  assert.equal(r.status, 202);
  await s.smtp.waitFor(n + 1, 5000);
  const idn = s.smtp.messages.slice(n).find((m) => m.headers.to === 'lea@xn--htel-de-ville-plb.fr');
  assert.ok(idn, 'the To header carries the punycode domain');
});
