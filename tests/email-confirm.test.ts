// Confirmation links expire (CONFIRM_TTL); asking again re-sends one, at most once per
// CONFIRM_RESEND_INTERVAL per address. Short durations here so the test sees both happen.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, until, type Stack } from './support/stack';
import { linkIn, mailsTo } from './support/email';

let s: Stack;
before(async () => {
  s = await startStack({ CONFIRM_TTL: '2s', CONFIRM_RESEND_INTERVAL: '3s' });
});
after(async () => {
  await s.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const subscribe = (email: string) => s.api('POST', '/api/subscriptions/email', { email });
const status = async (email: string) => {
  const id = await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, email);
  return (await s.app.domain.emailSubscribers.get(Number(id)))?.status;
};

test('a confirmation link expires; asking again re-sends, rate-limited per address', async () => {
  const n = s.smtp.messages.length;
  assert.equal((await subscribe('tardif@exemple.fr')).status, 202);
  // The resend interval runs from the request (at the latest its answer), the link's lifetime
  // from the mail's signing (at the latest its arrival): deadlines from those, whatever the load.
  const asked = Date.now();
  await until(async () => mailsTo(s, 'tardif@exemple.fr', n).length === 1);
  const first = mailsTo(s, 'tardif@exemple.fr', n)[0];
  assert.match(first.text, /Ce lien est valable jusqu’au \S+ \d+(er)? \S+ \d{4} à \d+\u00a0h\u00a0\d{2}\./);
  const link = linkIn(first.text, 'confirm');

  // Asking again at once sends nothing more, however often.
  for (let i = 0; i < 5; i++) assert.equal((await subscribe('tardif@exemple.fr')).status, 202);
  await sleep(300);
  assert.equal(mailsTo(s, 'tardif@exemple.fr', n).length, 1);

  await sleep(Math.max(0, first.receivedAt + 2100 - Date.now()));
  const page = await s.api('GET', link, undefined, { accept: 'text/html' });
  assert.equal(page.status, 410);
  assert.match(page.text, /Lien expiré/);
  assert.match(page.text, /Inscrivez-vous de nouveau/);
  const post = await s.api('POST', link, undefined, { accept: 'application/json' });
  assert.equal(post.status, 410);
  assert.equal(String(post.json.error.code), 'token_expired');
  assert.equal(await status('tardif@exemple.fr'), 'pending', 'an expired link confirms nothing');

  // Once the interval has passed, asking again brings a fresh link that works.
  await sleep(Math.max(0, asked + 3300 - Date.now()));
  assert.equal((await subscribe('tardif@exemple.fr')).status, 202);
  await until(async () => mailsTo(s, 'tardif@exemple.fr', n).length === 2);
  const fresh = linkIn(mailsTo(s, 'tardif@exemple.fr', n)[1].text, 'confirm');
  assert.notEqual(fresh, link);
  const ok = await s.api('POST', fresh, undefined, { accept: 'application/json' });
  assert.equal(ok.status, 200);
  assert.equal(await status('tardif@exemple.fr'), 'confirmed');

  // A confirmed reader asking again gets no mail at all.
  await sleep(Math.max(0, asked + 6600 - Date.now()));
  assert.equal((await subscribe('tardif@exemple.fr')).status, 202);
  await sleep(300);
  assert.equal(mailsTo(s, 'tardif@exemple.fr', n).length, 2);
});

test('a confirmation mail refused with 550 marks the address bounced', async () => {
  s.smtp.setRcptReject('inconnu@exemple.fr', 550, '5.1.1 User unknown');
  assert.equal((await subscribe('inconnu@exemple.fr')).status, 202);
  await until(async () => (await status('inconnu@exemple.fr')) === 'bounced');
  s.smtp.reset();
});
