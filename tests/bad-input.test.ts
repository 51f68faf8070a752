// The bad-input catalogue: every way a stranger or a careless client can get a request wrong,
// each with the status it must get, and for each a proof that nothing was stored (a digest of
// every Redis key of the instance and of the queues) and nothing was sent (the push service and
// the SMTP sink saw nothing). The last rows are push services answering with a redirect: the
// sender must not follow it, and must not delete the subscriber for it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { startStack, editor, CHIEF, type ApiAnswer, type Stack, pushCounts } from './support/stack';
import { startPushService, type PushService, type TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';
import { cmsCall, CMS_HOOK_SECRETS, OTHER_CMS_SECRET } from './support/cms';
import { TokenSigner } from '../src/tokens';

let s: Stack;
const MAILGUN_KEY = 'mg-signing-0a1b2c3d4e5f60718293a4b5c6d7e8f9';
let elsewhere: PushService; // an origin that is on no allowlist: nothing may ever reach it
let good: TestSubscriber; // a well-formed browser subscription whose pieces the rows spoil
let pendingId: number; // an email subscriber waiting for confirmation, target of the token rows

before(async () => {
  // Mailgun's key is set and Postmark's is not: both kinds of webhook refusal have a row.
  // WEBHOOK_ALLOW_PRIVATE is not set: webhook targets on private addresses are refused.
  s = await startStack(
    { MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY, CMS_HOOK_SECRETS },
    { api: true, worker: true },
    { cluster: false, extraPushOrigins: ['https://fcm.googleapis.com'] },
  );
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
/** A Mailgun event signed with `key` at `ts` (seconds). */
const mailgun = (key: string, ts = Math.floor(Date.now() / 1000)) => {
  const token = randomBytes(25).toString('hex');
  return {
    signature: { timestamp: String(ts), token, signature: createHmac('sha256', key).update(`${ts}${token}`).digest('hex') },
    'event-data': { event: 'complained', recipient: 'attente@exemple.fr' },
  };
};
const basicAuth = (v: string) => ({ authorization: `Basic ${Buffer.from(v).toString('base64')}` });
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
  for (const queue of [q.fanout, q.push, q.email, q.pushFlash, q.emailFlash, q.mail, q.webhook])
    h.update(JSON.stringify(await queue.getJobCounts()));
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

const cmsPost = { postId: 'faux-1', revision: 1, title: 'Fusillade à Paris', body: 'Faux.', url: 'https://www.exemple.fr/faux' };

const rows: (HttpRow | RedirectRow)[] = [
  // Providers' webhooks: nothing is read before the signature is checked.
  {
    input: 'Mailgun event without a signature',
    status: 401,
    code: 'bad_signature',
    send: () => s.api('POST', '/api/hooks/email/mailgun', { 'event-data': mailgun(MAILGUN_KEY)['event-data'] }),
  },
  {
    input: 'Mailgun event signed with another key',
    status: 401,
    code: 'bad_signature',
    send: () => s.api('POST', '/api/hooks/email/mailgun', mailgun('pas-la-bonne-cle-de-signature')),
  },
  {
    input: 'Mailgun event signed two hours ago (replayed)',
    status: 401,
    code: 'bad_signature',
    send: () => s.api('POST', '/api/hooks/email/mailgun', mailgun(MAILGUN_KEY, Math.floor(Date.now() / 1000) - 7200)),
  },
  {
    input: 'Postmark event while POSTMARK_WEBHOOK_AUTH is not configured',
    status: 401,
    code: 'bad_signature',
    send: () =>
      s.api(
        'POST',
        '/api/hooks/email/postmark',
        { RecordType: 'SpamComplaint', Email: 'attente@exemple.fr' },
        basicAuth('postmark:devine'),
      ),
  },
  {
    input: 'SendGrid event while SENDGRID_WEBHOOK_PUBLIC_KEY is not configured',
    status: 401,
    code: 'bad_signature',
    send: () =>
      s.api('POST', '/api/hooks/email/sendgrid', JSON.stringify([{ email: 'attente@exemple.fr', event: 'spamreport' }]), {
        'content-type': 'application/json',
        'x-twilio-email-event-webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-twilio-email-event-webhook-signature': randomBytes(70).toString('base64'),
      }),
  },
  { input: 'suppression list without a token', status: 401, code: 'unauthorized', send: () => s.api('GET', '/api/suppressions') },
  { input: 'newsroom report without a token', status: 401, code: 'unauthorized', send: () => s.api('GET', '/api/reports/recent') },
  {
    input: 'newsroom report over more than 90 days',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('GET', '/api/reports/recent?days=365', undefined, editor()),
  },
  {
    input: 'newsroom report of more than 500 alerts',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('GET', '/api/reports/recent?limit=100000', undefined, editor()),
  },
  {
    input: 'suppression of something that is not an address',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/suppressions', { email: 'personne' }, editor()),
  },
  {
    input: 'releasing an address that is not suppressed',
    status: 404,
    code: 'not_found',
    send: () => s.api('DELETE', '/api/suppressions/inconnu@exemple.fr', undefined, editor()),
  },
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
  // Languages: only those with a strings file (each may cost a bitmap).
  {
    input: 'push lang that has no strings file (de)',
    status: 400,
    code: 'invalid_lang',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), lang: 'de' }),
  },
  {
    input: 'push lang as a region tag (en-GB)',
    status: 400,
    code: 'invalid_lang',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), lang: 'en-GB' }),
  },
  {
    input: 'email lang that has no strings file (xx)',
    status: 400,
    code: 'invalid_lang',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', lang: 'xx' }),
  },
  {
    input: 'email lang as a list',
    status: 400,
    code: 'invalid_lang',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', lang: ['en'] }),
  },
  {
    input: 'email quietHours not offered (21:59-08:00)',
    status: 400,
    code: 'invalid_quiet_window',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', quietHours: '21:59-08:00' }),
  },
  {
    input: 'email digest time not written HH:MM (7:30)',
    status: 400,
    code: 'invalid_digest_time',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', digest: '7:30' }),
  },
  {
    input: 'email digest time not among DIGEST_TIMES (07:31; default every quarter hour)',
    status: 400,
    code: 'invalid_digest_time',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', timeZone: 'UTC', digest: '07:31' }),
  },
  {
    input: 'email digest time past midnight (24:00)',
    status: 400,
    code: 'invalid_digest_time',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', digest: '24:00' }),
  },
  {
    input: 'email digest time as a number',
    status: 400,
    code: 'invalid_digest_time',
    send: () => s.api('POST', emailPath, { email: 'lecteur@exemple.fr', digest: 450 }),
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
    input: 'alert texts in a language that has no strings file (de)',
    status: 400,
    code: 'invalid_lang',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', texts: { de: { title: 'Eilmeldung', body: '' } } }, editor()),
  },
  {
    input: 'alert texts in the default language (fr)',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', texts: { fr: { title: 'Alerte bis', body: '' } } }, editor()),
  },
  {
    input: 'alert English text without a title',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', texts: { en: { body: 'Body only' } } }, editor()),
  },
  {
    input: 'alert English body over 2000 characters',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', texts: { en: { title: 'Alert', body: 'b'.repeat(2001) } } }, editor()),
  },
  {
    input: 'alert English title too large to fit a push',
    status: 422,
    code: 'push_payload_too_large',
    send: () =>
      // The French text fits; the English one, with its own long link (carried twice in a declarative push), does not.
      s.api(
        'POST',
        '/api/alerts',
        { title: 'Alerte', texts: { en: { title: 'Alert', url: `https://example.com/${'a'.repeat(2020)}` } } },
        editor(),
      ),
  },
  {
    input: 'alert link with javascript:',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', url: 'javascript:alert(1)' }, editor()),
  },
  // The notification's picture: https only, and capped (it rides in every push payload).
  ...(
    [
      ['alert image over http://', 'http://www.exemple.fr/photo.jpg'],
      ['alert image with javascript:', 'javascript:alert(1)'],
      ['alert image longer than 1,024 characters', `https://www.exemple.fr/${'p'.repeat(1010)}.jpg`],
      ['alert image that is no URL', 'photo.jpg'],
    ] as const
  ).map(([input, image]) => ({
    input,
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/alerts', { title: 'Alerte', image }, editor()),
  })),
  {
    input: 'alert preview with an image over http://',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/preview', { title: 'Alerte', image: 'http://www.exemple.fr/photo.jpg' }, editor()),
  },
  {
    input: 'push replacement whose old auth is not 16 bytes',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), replaces: { endpoint: good.endpoint, auth: b64(8) } }),
  },
  {
    input: 'push replacement without the old auth',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', pushPath, { ...sub(good.endpoint), replaces: { endpoint: good.endpoint } }),
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
  // Outbound webhooks: https on a public address only, checked after DNS resolution (chiefs only).
  ...(
    [
      ['webhook to a loopback address', 'https://127.0.0.1/crochet', 'webhook_private_address'],
      ['webhook to a name that resolves to loopback (localhost)', 'https://localhost:8443/crochet', 'webhook_private_address'],
      ['webhook to the cloud metadata address', 'https://169.254.169.254/latest', 'webhook_private_address'],
      ['webhook to a private IPv4 address', 'https://192.168.1.10/crochet', 'webhook_private_address'],
      ['webhook to a CGNAT address', 'https://100.64.0.1/crochet', 'webhook_private_address'],
      ['webhook to a unique-local IPv6 address', 'https://[fd00::1]/crochet', 'webhook_private_address'],
      ['webhook to an IPv4-mapped IPv6 private address', 'https://[::ffff:10.0.0.1]/crochet', 'webhook_private_address'],
      ['webhook over http://', 'http://hooks.exemple.fr/crochet', 'webhook_not_https'],
      ['webhook URL with a user and password', 'https://moi:secret@hooks.exemple.fr/crochet', 'invalid_input'],
    ] as const
  ).map(([input, url, code]) => ({
    input,
    status: 400,
    code,
    send: () => s.api('POST', '/api/webhooks', { url, events: ['alert.published'] }, editor(CHIEF)),
  })),
  {
    input: 'webhook with an unknown event',
    status: 400,
    code: 'invalid_input',
    send: () => s.api('POST', '/api/webhooks', { url: 'https://hooks.exemple.fr/x', events: ['alert.deleted'] }, editor(CHIEF)),
  },
  {
    input: 'webhook registered with an editor token (chief only)',
    status: 403,
    code: 'forbidden',
    send: () => s.api('POST', '/api/webhooks', { url: 'https://hooks.exemple.fr/x', events: ['alert.published'] }, editor()),
  },
  // The CMS hook: Standard Webhooks signature with a CMS_HOOK_SECRETS secret, fresh timestamp.
  // From their own address: these failures count against it like wrong tokens.
  ...(
    [
      ['CMS hook without the webhook-* headers', { headers: { 'webhook-signature': undefined } }, 'invalid_signature'],
      ['CMS hook signed with a secret nobody configured', { secret: `whsec_${randomBytes(32).toString('base64')}` }, 'invalid_signature'],
      [
        'CMS hook signed by another CMS on the named path',
        { secret: OTHER_CMS_SECRET, path: '/api/hooks/cms/wordpress' },
        'invalid_signature',
      ],
      ['CMS hook whose body changed after signing', { tamper: (b: string) => b.replace('Fusillade', 'Canular') }, 'invalid_signature'],
      ['CMS hook signed 6 minutes ago (stale timestamp)', { at: new Date(Date.now() - 6 * 60_000) }, 'stale_timestamp'],
      ['CMS hook signed 6 minutes ahead', { at: new Date(Date.now() + 6 * 60_000) }, 'stale_timestamp'],
    ] as const
  ).map(([input, opts, code]) => ({
    input,
    status: 401,
    code,
    send: () =>
      cmsCall(s, cmsPost, {
        ...opts,
        headers: { ...('headers' in opts ? opts.headers : {}), 'x-forwarded-for': '203.0.113.50' },
      }),
  })),
  {
    input: 'CMS hook, signed, without revision',
    status: 400,
    code: 'invalid_input',
    send: () => cmsCall(s, { ...cmsPost, revision: undefined }),
  },
  {
    input: 'CMS hook, signed, to a topic the newsroom does not have',
    status: 400,
    code: 'unknown_topic',
    send: () => cmsCall(s, { ...cmsPost, topics: ['sujet-invente'] }),
  },
  {
    input: 'CMS hook, signed, cancelling a post it never sent',
    status: 404,
    code: 'not_found',
    send: () => cmsCall(s, { postId: 'jamais-vu', action: 'cancel' }),
  },
  // The API reference serves only its viewer's two files, nothing else from node_modules.
  {
    input: 'API reference: the viewer package’s demo page',
    status: 404,
    code: 'not_found',
    send: () => s.api('GET', '/api/docs/ui/index.html'),
  },
  {
    input: 'API reference: a path out of the viewer’s folder',
    status: 404,
    code: 'not_found',
    send: () => s.api('GET', '/api/docs/ui/..%2Fpackage.json'),
  },
  // Receipts and email click links: signed for one alert, revision and subscriber; nothing counts otherwise.
  {
    input: 'receipt with a tampered MAC',
    status: 400,
    code: 'invalid_receipt',
    send: () => {
      const t = s.app.domain.tokens.signDelivery('receipt', 'abcdefgh12345678', 1, 1);
      return s.api('POST', '/api/receipts', { receipt: `${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`, event: 'received' });
    },
  },
  {
    input: 'receipt naming another subscriber under the same MAC',
    status: 400,
    code: 'invalid_receipt',
    send: () => {
      const [a, rev, , mac] = s.app.domain.tokens.signDelivery('receipt', 'abcdefgh12345678', 1, 1).split('.');
      return s.api('POST', '/api/receipts', { receipt: `${a}.${rev}.2.${mac}`, event: 'clicked' });
    },
  },
  {
    input: 'receipt signed by another instance (foreign secret)',
    status: 400,
    code: 'invalid_receipt',
    send: () =>
      s.api('POST', '/api/receipts', {
        receipt: new TokenSigner(randomBytes(32).toString('hex')).signDelivery('receipt', 'abcdefgh12345678', 1, 1),
        event: 'received',
      }),
  },
  {
    input: 'an email click token posted as a push receipt',
    status: 400,
    code: 'invalid_receipt',
    send: () =>
      s.api('POST', '/api/receipts', { receipt: s.app.domain.tokens.signDelivery('click', 'abcdefgh12345678', 1, 1), event: 'received' }),
  },
  {
    input: 'receipt with an unknown event',
    status: 400,
    code: 'invalid_input',
    send: () =>
      s.api('POST', '/api/receipts', { receipt: s.app.domain.tokens.signDelivery('receipt', 'abcdefgh12345678', 1, 1), event: 'opened' }),
  },
  {
    input: 'receipt as text/plain that is not JSON (sendBeacon)',
    status: 400,
    code: 'invalid_json',
    send: () => s.api('POST', '/api/receipts', 'receipt=x', { 'content-type': 'text/plain;charset=UTF-8' }),
  },
  {
    input: 'receipt as a form post',
    status: 415,
    code: 'unsupported_media_type',
    send: () => s.api('POST', '/api/receipts', 'receipt=x&event=received', { 'content-type': 'application/x-www-form-urlencoded' }),
  },
  {
    input: 'email click link with a tampered token',
    status: 400,
    code: 'invalid_token',
    send: () => {
      const t = s.app.domain.tokens.signDelivery('click', 'abcdefgh12345678', 1, 1);
      return s.api('GET', `/r/${t.slice(0, -1)}${t.endsWith('A') ? 'B' : 'A'}`);
    },
  },
  {
    input: 'email click link carrying a push receipt',
    status: 400,
    code: 'invalid_token',
    send: () => s.api('GET', `/r/${s.app.domain.tokens.signDelivery('receipt', 'abcdefgh12345678', 1, 1)}`),
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
