// The bad-input catalogue: every way a stranger or a careless client can get a request wrong,
// each with the status it must get, and for each a proof that nothing was stored (a digest of
// every Redis key of the instance and of the queues) and nothing was sent (the push service and
// the SMTP sink saw nothing). The last rows are push services answering with a redirect: the
// sender must not follow it, and must not delete the subscriber for it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startStack, editor, CHIEF, type ApiAnswer, type Stack, pushCounts } from './support/stack';
import { startPushService, type PushService, type TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';

let s: Stack;
let elsewhere: PushService; // an origin that is on no allowlist: nothing may ever reach it
let good: TestSubscriber; // a well-formed browser subscription whose pieces the rows spoil
let pendingId: number; // an email subscriber waiting for confirmation, target of the token rows

before(async () => {
  s = await startStack({}, { api: true, worker: true }, { cluster: false, extraPushOrigins: ['https://fcm.googleapis.com'] });
  elsewhere = await startPushService();
  good = s.push.newSubscriber();
  const r = await s.api('POST', '/api/subscriptions/email', { email: 'attente@exemple.fr' });
  assert.equal(r.status, 202);
  await s.smtp.waitFor(1, 5000);
  pendingId = Number(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, 'attente@exemple.fr'));
  assert.ok(pendingId > 0);
  // Topics of the redirect rows, and one the newsroom has retired.
  await ensureTopics(s, ['redir-301', 'redir-307', 'redir-308', 'ephemere']);
  assert.equal((await s.api('DELETE', '/api/topics/ephemere', undefined, editor(CHIEF))).status, 204);
});
after(async () => {
  await elsewhere.close();
  await s.stop();
});

const sub = (endpoint: string, keys: Partial<TestSubscriber['keys']> = {}) => ({
  subscription: { endpoint, keys: { ...good.keys, ...keys } },
});
const pushPath = '/api/subscriptions/push';
const emailPath = '/api/subscriptions/email';
const b64 = (n: number, first?: number) => {
  const b = randomBytes(n);
  if (first !== undefined) b[0] = first;
  return b.toString('base64url');
};

/** Everything the instance keeps: a digest of every key's value, and how many jobs each queue holds. */
async function stored(): Promise<string> {
  const { redis, keys, config } = s.app.domain;
  const names: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${config.redis.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    // The per-IP request counters are meant to move with every request.
    names.push(...batch.filter((k) => !k.startsWith(keys.rateLimit)));
  } while (cursor !== '0');
  const h = createHash('sha256');
  for (const k of names.sort())
    h.update(k).update(
      createHash('sha256')
        .update((await redis.dumpBuffer(k)) ?? '')
        .digest(),
    );
  const q = s.app.queues;
  for (const queue of [q.fanout, q.push, q.email, q.mail]) h.update(JSON.stringify(await queue.getJobCounts()));
  return `${names.length} keys, ${h.digest('hex').slice(0, 16)}`;
}

const sent = () => ({
  push: s.push.requests,
  pushed: s.push.messages.length,
  mails: s.smtp.messages.length,
  elsewhere: elsewhere.requests,
});

interface HttpRow {
  input: string;
  status: number;
  code: string;
  send: () => Promise<ApiAnswer>;
}
/** A push service answering a delivery with a redirect to another origin. */
interface RedirectRow {
  input: string;
  redirect: number;
}

const rows: (HttpRow | RedirectRow)[] = [
  // Push endpoints: only https URLs on an allowlisted push-service origin, port 443 unless listed.
  {
    input: 'endpoint over http://',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub(good.endpoint.replace('https:', 'http:'))),
  },
  {
    input: 'endpoint host off the allowlist',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub('https://push.evil.example/send/abc')),
  },
  {
    input: 'https://fcm.googleapis.com@evil.example/',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub('https://fcm.googleapis.com@evil.example/fcm/send/abc')),
  },
  {
    input: 'allowlisted name as a subdomain of another host',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub('https://fcm.googleapis.com.evil.example/fcm/send/abc')),
  },
  {
    input: 'IPv4 literal (cloud metadata address)',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub('https://169.254.169.254/latest/meta-data')),
  },
  { input: 'IPv6 literal', status: 400, code: 'invalid_input', send: () => s.api('POST', pushPath, sub('https://[::1]/push/abc')) },
  {
    input: 'integer IP literal (2130706433 = 127.0.0.1) on port 443',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub('https://2130706433/push/abc')),
  },
  {
    input: 'allowlisted host on port 8443',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub('https://fcm.googleapis.com:8443/fcm/send/abc')),
  },
  {
    input: 'allowlisted test host on another port',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub(`https://127.0.0.1:1/push/${good.id}`)),
  },
  // Subscription keys.
  {
    input: 'p256dh: 33-byte compressed point',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub(good.endpoint, { p256dh: b64(33, 2) })),
  },
  {
    input: 'p256dh: 65 bytes, not a point on P-256',
    status: 400,
    code: 'invalid_input',
    send: () =>
      s.api(
        'POST',
        pushPath,
        sub(good.endpoint, { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 0xff)]).toString('base64url') }),
      ),
  },
  {
    input: 'auth: 15 bytes',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub(good.endpoint, { auth: b64(15) })),
  },
  {
    input: 'auth: not base64url',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, sub(good.endpoint, { auth: 'c2VjcmV0+/c2VjcmV0!!' })),
  },
  {
    input: 'p256dh: standard base64 with + and /',
    status: 400,
    code: 'invalid_input',
    send: () =>
      s.api(
        'POST',
        pushPath,
        sub(good.endpoint, {
          p256dh: Buffer.from(good.keys.p256dh, 'base64url')
            .toString('base64')
            .replace(/[A-Za-z]/, '+'),
        }),
      ),
  },
  // Quiet hours: only the canonical time zones of the runtime, only the newsroom's windows.
  {
    input: 'push applicationServerKey that is none of our VAPID keys',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), applicationServerKey: b64(65, 4) }),
  },
  {
    input: 'push applicationServerKey that is not base64url',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), applicationServerKey: 'pas+une/clé' }),
  },
  {
    input: 'push timeZone that is no IANA zone',
    status: 400,
    code: 'invalid_time_zone',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), timeZone: 'Mars/Olympus_Mons' }),
  },
  {
    input: 'push timeZone as a number',
    status: 400,
    code: 'invalid_time_zone',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), timeZone: 1 }),
  },
  {
    input: 'push quietHours off by a second (22:00:01-08:00:00)',
    status: 400,
    code: 'invalid_quiet_window',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), quietHours: '22:00:01-08:00:00' }),
  },
  {
    input: 'push quietHours not offered (23:00-07:00)',
    status: 400,
    code: 'invalid_quiet_window',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), timeZone: 'europe/paris', quietHours: '23:00-07:00' }),
  },
  {
    input: 'email timeZone that is no IANA zone',
    status: 400,
    code: 'invalid_time_zone',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', timeZone: 'Europe/Atlantis' }),
  },
  {
    input: 'email quietHours not offered (21:59-08:00)',
    status: 400,
    code: 'invalid_quiet_window',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', quietHours: '21:59-08:00' }),
  },
  // Bodies.
  { input: 'malformed JSON', status: 400, code: 'invalid_json', send: () => s.api('POST', pushPath, '{"subscription": {"endpoint": ') },
  {
    input: 'Content-Type text/plain',
    status: 415,
    code: 'unsupported_media_type',
    send: () => s.api('POST', pushPath, JSON.stringify(sub(good.endpoint)), { 'content-type': 'text/plain' }),
  },
  {
    input: 'form-encoded body on a JSON endpoint',
    status: 415,
    code: 'unsupported_media_type',
    send: () => s.api('POST', emailPath, 'email=lecteur%40exemple.fr', { 'content-type': 'application/x-www-form-urlencoded' }),
  },
  {
    input: 'body over the 16 kB limit',
    status: 413,
    code: 'body_too_large',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), padding: 'x'.repeat(17 * 1024) }),
  },
  // Email addresses.
  {
    input: 'email header injection (CRLF Bcc:)',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr\r\nBcc: cible@exemple.fr' }),
  },
  {
    input: 'email address list',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr, cible@exemple.fr' }),
  },
  {
    input: 'email with a display name',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', emailPath, { email: 'Lecteur <cible@exemple.fr>' }),
  },
  {
    input: 'email with a quoted local part hiding an @',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', emailPath, { email: '"cible@evil.example"@exemple.fr' }),
  },
  {
    input: 'email as an array of addresses',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', emailPath, { email: ['lecteur@exemple.fr', 'cible@exemple.fr'] }),
  },
  // Topics: readers choose among the newsroom's active topics; only editors make topics.
  {
    input: 'push subscribe naming a topic the newsroom does not have',
    status: 400,
    code: 'unknown_topic',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), topics: ['sport', 'sujet-invente'] }),
  },
  {
    input: 'push subscribe naming a retired topic',
    status: 400,
    code: 'unknown_topic',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), topics: ['ephemere'] }),
  },
  {
    input: 'email subscribe naming a topic the newsroom does not have',
    status: 400,
    code: 'unknown_topic',
    send: () => s.api('POST', emailPath, { email: 'nouvelle@exemple.fr', topics: ['sujet-invente'] }),
  },
  {
    input: 'topic created without a token',
    status: 401,
    code: 'unauthorized',
    send: () => s.api('POST', '/api/topics', { slug: 'anonyme', label: 'Anonyme' }),
  },
  {
    input: 'topic with a slug that is not a slug',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/topics', { slug: 'Pas Un Slug', label: 'Rubrique' }, editor()),
  },
  {
    input: 'topic with an empty label',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/topics', { slug: 'sans-libelle', label: ' ' }, editor()),
  },
  {
    input: 'topic that exists already',
    status: 409,
    code: 'topic_exists',
    send: () => s.api('POST', '/api/topics', { slug: 'sport', label: 'Sport encore' }, editor()),
  },
  {
    input: 'renaming a topic that does not exist',
    status: 400,
    code: 'unknown_topic',
    send: () => s.api('PATCH', '/api/topics/nulle-part', { label: 'Nulle part' }, editor()),
  },
  {
    input: 'editor token retiring a topic (chief only)',
    status: 403,
    code: 'forbidden',
    send: () => s.api('DELETE', '/api/topics/redir-301', undefined, editor()),
  },
  {
    input: 'retiring a topic declared in PAGE_TOPICS',
    status: 409,
    code: 'declared_topic',
    send: () => s.api('DELETE', '/api/topics/sport', undefined, editor(CHIEF)),
  },
  // Links in emails.
  {
    input: 'tampered confirmation token',
    status: 400,
    code: 'invalid_token',
    send: () => {
      const t = s.app.domain.tokens.sign('confirm', pendingId, 3600);
      const forged = t.slice(0, -2) + (t.endsWith('AA') ? 'BB' : 'AA');
      return s.api('POST', `/api/subscriptions/email/confirm?token=${forged}`, undefined, { accept: 'application/json' });
    },
  },
  {
    input: 'confirmation token with another id, same MAC',
    status: 400,
    code: 'invalid_token',
    send: () => {
      const [c, , exp, version, mac] = s.app.domain.tokens.sign('confirm', pendingId, 3600, 0).split('.');
      return s.api(
        'POST',
        `/api/subscriptions/email/confirm?token=${c}.${(pendingId + 1).toString(36)}.${exp}.${version}.${mac}`,
        undefined,
        { accept: 'application/json' },
      );
    },
  },
  {
    input: 'confirmation token without a status version',
    status: 410,
    code: 'token_expired',
    send: () =>
      s.api('POST', `/api/subscriptions/email/confirm?token=${s.app.domain.tokens.sign('confirm', pendingId, 3600)}`, undefined, {
        accept: 'application/json',
      }),
  },
  {
    input: 'confirmation token signed for another status version',
    status: 410,
    code: 'token_expired',
    send: () =>
      s.api('POST', `/api/subscriptions/email/confirm?token=${s.app.domain.tokens.sign('confirm', pendingId, 3600, 1)}`, undefined, {
        accept: 'application/json',
      }),
  },
  {
    input: 'expired confirmation token',
    status: 410,
    code: 'token_expired',
    send: () =>
      s.api('POST', `/api/subscriptions/email/confirm?token=${s.app.domain.tokens.sign('confirm', pendingId, -60)}`, undefined, {
        accept: 'application/json',
      }),
  },
  {
    input: 'unsubscribe token used to confirm',
    status: 400,
    code: 'invalid_token',
    send: () =>
      s.api('POST', `/api/subscriptions/email/confirm?token=${s.app.domain.tokens.sign('unsubscribe', pendingId)}`, undefined, {
        accept: 'application/json',
      }),
  },
  // Editors.
  {
    input: 'publish without a token',
    status: 401,
    code: 'unauthorized',
    send: () => s.api('POST', '/api/alerts', { title: 'Sans jeton' }),
  },
  {
    input: 'publish with a wrong token',
    status: 401,
    code: 'unauthorized',
    send: () => s.api('POST', '/api/alerts', { title: 'Mauvais jeton' }, editor('pas-le-bon-jeton-0123456789')),
  },
  {
    input: 'publish with the token as Basic credentials',
    status: 401,
    code: 'unauthorized',
    send: () =>
      s.api('POST', '/api/alerts', { title: 'Basic' }, { authorization: `Basic ${Buffer.from(`x:${CHIEF}`).toString('base64')}` }),
  },
  {
    input: 'console sign-in with a wrong token',
    status: 401,
    code: 'invalid_token',
    send: () => s.api('POST', '/api/session', { token: 'pas-le-bon-jeton-0123456789' }),
  },
  {
    input: 'the right token after 10 failed sign-ins from the same address',
    status: 429,
    code: 'too_many_failed_sign_ins',
    send: async () => {
      const guesser = { 'x-forwarded-for': '203.0.113.99' };
      for (let i = 0; i < 10; i++)
        assert.equal((await s.api('POST', '/api/session', { token: `devinette-${i}-0123456789` }, guesser)).status, 401);
      return s.api('POST', '/api/session', { token: CHIEF }, guesser);
    },
  },
  {
    input: 'editor token approving an alert (chief only)',
    status: 403,
    code: 'forbidden',
    send: () => s.api('POST', '/api/alerts/mwvhiw4s4ad1935435/approve', undefined, editor()),
  },
  {
    input: 'bull-board promote with a wrong token',
    status: 401,
    code: 'unauthorized',
    send: () => s.api('PUT', '/admin/queues/api/queues/fanout/promote', undefined, editor('pas-le-bon-jeton-0123456789')),
  },
  {
    input: 'editor token lifting a rate limit (chief only)',
    status: 403,
    code: 'forbidden',
    send: () => s.api('DELETE', '/api/limits/subscribe/203.0.113.9', undefined, editor()),
  },
  {
    input: 'alert with an unknown field',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', sendToEveryoneNow: true }, editor()),
  },
  {
    input: 'alert to a topic the newsroom does not have',
    status: 400,
    code: 'unknown_topic',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', topics: ['sujet-invente'] }, editor()),
  },
  {
    input: 'alert link with javascript:',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', url: 'javascript:alert(1)' }, editor()),
  },
  {
    input: 'alert too large to fit a push (4 KB)',
    status: 422,
    code: 'push_payload_too_large',
    send: () =>
      s.api(
        'POST',
        '/api/alerts',
        {
          title: 'Émeutes'.repeat(28),
          url: `https://www.exemple.fr/société/${'é'.repeat(1900)}`,
          topics: Array.from({ length: 20 }, (_, i) => `rubrique-${i}-${'x'.repeat(28)}`),
        },
        editor(),
      ),
  },
  // Push services answering a delivery with a redirect to an origin off the allowlist.
  { input: 'push service answers 301 to another origin', redirect: 301 },
  { input: 'push service answers 307 to another origin', redirect: 307 },
  { input: 'push service answers 308 to another origin', redirect: 308 },
];

test(`bad-input catalogue: ${rows.length} inputs, each refused with its status; nothing stored, nothing sent`, async (t) => {
  assert.ok(rows.length >= 20);
  for (const row of rows) {
    await t.test(row.input, async () => {
      if ('redirect' in row) return redirectRow(row);
      const storedBefore = await stored();
      const sentBefore = sent();
      const r = await row.send();
      assert.equal(r.status, row.status, `${row.input}: ${r.text.slice(0, 200)}`);
      const err = r.json?.error;
      assert.equal(String(err?.code), row.code);
      assert.ok(String(err?.message).length > 0);
      assert.doesNotMatch(r.text, /\n\s+at |node_modules|\/src\//, 'no stack trace');
      assert.equal(await stored(), storedBefore, 'nothing stored');
      assert.deepEqual(sent(), sentBefore, 'nothing sent');
    });
  }
  // Anything queued by mistake would have had time to go out by now.
  const settled = sent();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(sent(), settled);
  assert.equal(elsewhere.requests, 0);
});

async function redirectRow(row: RedirectRow): Promise<void> {
  // A valid subscriber whose push service answers with a redirect off the allowlist.
  const browser = s.push.newSubscriber();
  const created = await s.api('POST', pushPath, {
    subscription: { endpoint: browser.endpoint, keys: browser.keys },
    topics: [`redir-${row.redirect}`],
  });
  assert.equal(created.status, 201);
  const id = Number(created.json.id);
  const target = elsewhere.newSubscriber();
  s.push.setBehaviour(browser.id, { status: row.redirect, headers: { location: target.endpoint } });
  const before = sent();
  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: `Redirection ${row.redirect}`, topics: [`redir-${row.redirect}`], channels: ['push'] },
    editor(),
  );
  assert.equal(pub.status, 202);
  const view = await s.delivered(String(pub.json.id), 10_000);
  // Only our subscriber was targeted (topic), its push service was asked once and said 3xx.
  assert.deepEqual(pushCounts(view.delivery.push), { targeted: 1, sent: 0, failed: 1, expired: 0, clicked: 0 });
  assert.equal(s.push.requests - before.push, 1, 'one request, not retried');
  assert.equal(s.push.messages.length, before.pushed, 'nothing delivered');
  assert.equal(elsewhere.requests, 0, 'nothing reached the other origin');
  // A redirect is not "gone": the subscriber is kept, active, and reachable by the next alert.
  assert.ok(await s.app.domain.pushSubscribers.get(id));
  assert.equal(await s.app.domain.redis.getbit(s.app.domain.keys.audActive('push'), id), 1);
  s.push.setBehaviour(browser.id, null);
}
