import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { Agent } from 'node:https';
import { connect } from 'node:http2';
import Redis from 'ioredis';
import nodemailer from 'nodemailer';
import webpush, { WebPushError } from 'web-push';
import { startPushService, type PushService, type TestSubscriber } from './support/push-service';
import { startRedis } from './support/redis';
import { verifyVapid } from './support/vapid';
import { startSmtpServer } from './support/smtp';

const FRENCH = 'Alerte : élection présidentielle, résultats à 20 h — ça bouge ! 🗳️';

type VapidDetails = NonNullable<webpush.RequestOptions['vapidDetails']>;

// The application server's key pair: the test subscriptions are made with its public key.
const APP = webpush.generateVAPIDKeys();

function vapid(keys = APP): VapidDetails {
  return { subject: 'mailto:test@example.com', publicKey: keys.publicKey, privateKey: keys.privateKey };
}

function send(svc: PushService, sub: TestSubscriber, payload: string, vapidDetails = vapid()) {
  return webpush.sendNotification(sub, payload, { vapidDetails, TTL: 60, agent: new Agent({ ca: svc.ca }) });
}

/** Sends the request web-push would build, but over HTTP/2, optionally tampered with. */
async function sendH2(svc: PushService, sub: TestSubscriber, payload: string, edit = (h: Record<string, string>) => h) {
  const details = webpush.generateRequestDetails(sub, payload, { vapidDetails: vapid(), TTL: 60 });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(details.headers)) headers[k.toLowerCase()] = v;
  const session = connect(svc.origin, { ca: svc.ca });
  try {
    const req = session.request({ ':method': 'POST', ':path': new URL(sub.endpoint).pathname, ...edit(headers) });
    const status = new Promise<number>((resolve, reject) => {
      req.on('response', (h) => resolve(Number(h[':status'])));
      req.on('error', reject);
    });
    req.end(details.body ?? undefined);
    req.resume();
    return await status;
  } finally {
    session.close();
  }
}

test('push service decrypts what web-push sends and checks VAPID', async (t) => {
  const svc = await startPushService({ applicationServerKey: APP.publicKey });
  t.after(() => svc.close());
  const sub = svc.newSubscriber();

  const res = await send(svc, sub, FRENCH);
  assert.equal(res.statusCode, 201);
  assert.match(res.headers.location ?? '', /^https:\/\/127\.0\.0\.1:\d+\/message\//);
  await svc.waitFor(1, 1000);
  const [msg] = svc.messages;
  assert.equal(msg.payload, FRENCH);
  assert.equal(msg.subscriberId, sub.id);
  assert.equal(msg.httpVersion, '1.1');
  assert.equal(msg.headers.ttl, 60);
  assert.equal(msg.headers.contentEncoding, 'aes128gcm');
  assert.equal(msg.vapid.aud, svc.origin);
  assert.equal(msg.vapid.sub, 'mailto:test@example.com');

  await send(svc, sub, JSON.stringify({ titre: 'Dépêche', corps: FRENCH }));
  await svc.waitFor(2, 1000);
  assert.deepEqual(svc.messages[1].json(), { titre: 'Dépêche', corps: FRENCH });

  // The subscription's public key with another pair's private key: the signature cannot verify.
  const other = webpush.generateVAPIDKeys();
  const bad = { subject: 'mailto:test@example.com', publicKey: APP.publicKey, privateKey: other.privateKey };
  await assert.rejects(send(svc, sub, 'x', bad), (err: unknown) => err instanceof WebPushError && err.statusCode === 403);
  const { at, ...rejection } = svc.rejections.at(-1)!;
  assert.ok(at > 0);
  assert.deepEqual(rejection, { reason: 'bad signature', status: 403, subscriberId: sub.id });
  assert.equal(svc.messages.length, 2);
  assert.equal(svc.inFlight, 0);
});

test('push service over HTTP/2, validation and behaviours', async (t) => {
  const svc = await startPushService({ applicationServerKey: APP.publicKey });
  t.after(() => svc.close());
  const sub = svc.newSubscriber();

  assert.equal(await sendH2(svc, sub, 'bonjour'), 201);
  await svc.waitFor(1, 1000);
  assert.equal(svc.messages[0].httpVersion, '2.0');
  assert.equal(svc.messages[0].payload, 'bonjour');

  assert.equal(await sendH2(svc, sub, 'x', ({ ttl: _ttl, ...h }) => h), 400);
  assert.equal(await sendH2(svc, sub, 'x', (h) => ({ ...h, 'content-encoding': 'aesgcm' })), 415);
  const strangerSub = { ...sub, endpoint: `${svc.origin}/push/nobody` };
  assert.equal(await sendH2(svc, strangerSub, 'x'), 404);

  svc.setBehaviour(sub.endpoint, { sequence: [{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }, null] });
  assert.equal(await sendH2(svc, sub, 'un'), 500);
  assert.equal(await sendH2(svc, sub, 'deux'), 429);
  assert.equal(await sendH2(svc, sub, 'trois'), 201);
  assert.deepEqual(
    svc.messages.map((m) => m.payload),
    ['bonjour', 'trois'],
  );

  svc.setBehaviour(sub.id, { status: 410 });
  await assert.rejects(send(svc, sub, 'parti'), (err: unknown) => err instanceof WebPushError && err.statusCode === 410);
  svc.setBehaviour(sub.id, null);
  assert.ok(svc.sessions >= 4);
});

/** A VAPID JWT signed by hand (ES256 over header.claims), so each claim and header can be spoiled. */
function jwt(claims: unknown, header: Record<string, unknown> = { typ: 'JWT', alg: 'ES256' }, keys = APP): string {
  const raw = Buffer.from(keys.publicKey, 'base64url');
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: raw.subarray(1, 33).toString('base64url'),
    y: raw.subarray(33, 65).toString('base64url'),
    d: keys.privateKey,
  };
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: createPrivateKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

test('push service VAPID: each rejection branch answers 403 with its own reason, and delivers nothing', async (t) => {
  const svc = await startPushService({ applicationServerKey: APP.publicKey });
  t.after(() => svc.close());
  const sub = svc.newSubscriber();
  const other = webpush.generateVAPIDKeys();
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: svc.origin, exp: now + 3600, sub: 'mailto:tech@depeche.example' };
  const { aud: _aud, ...noAud } = claims;
  const { exp: _exp, ...noExp } = claims;
  const { sub: _sub, ...noSub } = claims;
  const vapidHeader = (token: string, k = APP.publicKey) => `vapid t=${token}, k=${k}`;
  const post = (authorization: string | undefined, to = sub) =>
    sendH2(svc, to, 'x', ({ authorization: _a, ...h }) => (authorization === undefined ? h : { ...h, authorization }));

  // The hand-made token itself is good: every row below spoils exactly one thing of it.
  assert.equal(await post(vapidHeader(jwt(claims))), 201);
  assert.equal(svc.messages.length, 1);

  const rows: Array<[string, string | undefined, RegExp]> = [
    ['no Authorization header', undefined, /^missing Authorization header$/],
    ['the draft "WebPush" scheme', `WebPush ${jwt(claims)}`, /^Authorization scheme is not vapid$/],
    ['no k=', `vapid t=${jwt(claims)}`, /^vapid header lacks t= or k=$/],
    [
      'k that is not a P-256 point',
      vapidHeader(jwt(claims), Buffer.alloc(33, 2).toString('base64url')),
      /^k is not an uncompressed P-256 point$/,
    ],
    [
      "k of another key pair, token signed by it (valid, but not the subscription's key)",
      vapidHeader(jwt(claims, undefined, other), other.publicKey),
      /^k is not the key the subscription was made with$/,
    ],
    ['a token that is not three parts', vapidHeader('abc.def'), /^token is not a JWS compact serialization$/],
    [
      'a token whose header is not JSON',
      vapidHeader(`${Buffer.from('{').toString('base64url')}.e30.AAAA`),
      /^token header or claims are not JSON$/,
    ],
    ['claims that are a JSON array', vapidHeader(jwt([claims])), /^claims are not an object$/],
    ['alg ES384', vapidHeader(jwt(claims, { typ: 'JWT', alg: 'ES384' })), /^token alg is not ES256$/],
    ['alg HS256', vapidHeader(jwt(claims, { typ: 'JWT', alg: 'HS256' })), /^token alg is not ES256$/],
    ['alg none', vapidHeader(jwt(claims, { typ: 'JWT', alg: 'none' })), /^token alg is not ES256$/],
    ["bad signature: the subscription's k, signed by another private key", vapidHeader(jwt(claims, undefined, other)), /^bad signature$/],
    [
      'aud of another origin',
      vapidHeader(jwt({ ...claims, aud: 'https://push.example.net' })),
      /^aud https:\/\/push\.example\.net is not /,
    ],
    [
      'aud that is the endpoint URL, not its origin',
      vapidHeader(jwt({ ...claims, aud: sub.endpoint })),
      /^aud https:\/\/127\.0\.0\.1:\d+\/push\/\w+ is not /,
    ],
    ['no aud', vapidHeader(jwt(noAud)), /^aud undefined is not /],
    ['no exp', vapidHeader(jwt(noExp)), /^exp missing$/],
    ['exp a minute ago', vapidHeader(jwt({ ...claims, exp: now - 60 })), /^token expired$/],
    ['exp 24 h and a minute ahead', vapidHeader(jwt({ ...claims, exp: now + 24 * 3600 + 60 })), /^exp more than 24 h ahead$/],
    ['no sub', vapidHeader(jwt(noSub)), /^sub missing$/],
    ['sub a bare address', vapidHeader(jwt({ ...claims, sub: 'tech@depeche.example' })), /^sub is not mailto: or https:$/],
    ['sub an http: URL', vapidHeader(jwt({ ...claims, sub: 'http://depeche.example' })), /^sub is not mailto: or https:$/],
  ];
  for (const [what, authorization, reason] of rows) {
    await t.test(what, async () => {
      assert.equal(await post(authorization), 403);
      const last = svc.rejections.at(-1)!;
      assert.match(last.reason, reason);
      assert.equal(last.subscriberId, sub.id);
    });
  }
  // A k of the right shape but off the curve cannot be bound to any subscription; without a
  // binding (the bench's push service), it fails the signature check rather than throwing.
  const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64)]).toString('base64url');
  assert.equal(await post(vapidHeader(jwt(claims), offCurve)), 403);
  assert.equal(svc.rejections.at(-1)!.reason, 'k is not the key the subscription was made with');
  const unboundCheck = verifyVapid(vapidHeader(jwt(claims), offCurve), svc.origin);
  assert.ok(!unboundCheck.ok && unboundCheck.reason.startsWith('signature check failed: '), JSON.stringify(unboundCheck));
  // A subscription made without an applicationServerKey (which Chrome never makes) takes nothing.
  svc.applicationServerKey = undefined;
  const unbound = svc.newSubscriber();
  assert.equal(await post(vapidHeader(jwt(claims)), unbound), 403);
  assert.equal(svc.rejections.at(-1)!.reason, 'subscription made without an applicationServerKey');
  assert.equal(svc.messages.length, 1, 'nothing but the good token was delivered');
  assert.equal(svc.rejections.length, rows.length + 2);
});

test("push service VAPID: web-push signing with a key pair other than the subscription's is refused (k bound to the subscription)", async (t) => {
  const svc = await startPushService({ applicationServerKey: APP.publicKey });
  t.after(() => svc.close());
  const bound = svc.newSubscriber();
  const elsewhere = webpush.generateVAPIDKeys();
  const boundElsewhere = svc.newSubscriber({ applicationServerKey: elsewhere.publicKey });
  await assert.rejects(send(svc, bound, 'x', vapid(elsewhere)), (err: unknown) => err instanceof WebPushError && err.statusCode === 403);
  assert.equal(svc.rejections.at(-1)!.reason, 'k is not the key the subscription was made with');
  // Each subscription keeps its own key: the same sender reaches the one made with it.
  assert.equal((await send(svc, boundElsewhere, 'y', vapid(elsewhere))).statusCode, 201);
  assert.deepEqual(
    svc.messages.map((m) => [m.subscriberId, m.vapid.k]),
    [[boundElsewhere.id, elsewhere.publicKey]],
  );
});

test('smtp sink records mail with raw List-Unsubscribe and simulates faults', async (t) => {
  const sink = await startSmtpServer();
  t.after(() => sink.close());
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
  const mail = {
    from: 'Dépêche <alertes@depeche.test>',
    to: 'lectrice@example.test',
    subject: 'Alerte : séisme en Provence',
    text: FRENCH,
    html: `<p>${FRENCH}</p>`,
    headers: {
      'List-Unsubscribe': '<https://depeche.test/u/abc>, <mailto:unsub@depeche.test?subject=abc>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  };
  await transport.sendMail(mail);
  await sink.waitFor(1, 1000);
  const [got] = sink.messages;
  assert.equal(got.subject, mail.subject);
  assert.equal(got.text.trim(), FRENCH);
  assert.deepEqual(got.to, ['lectrice@example.test']);
  assert.equal(got.from, 'alertes@depeche.test');
  assert.equal(got.headers['list-unsubscribe'], mail.headers['List-Unsubscribe']);
  assert.equal(got.headers['list-unsubscribe-post'], 'List-Unsubscribe=One-Click');
  assert.ok(got.headers['message-id']);

  sink.setRcptReject('bounce@example.test');
  await assert.rejects(transport.sendMail({ ...mail, to: 'bounce@example.test' }), { responseCode: 550 });
  sink.setTempFail(true);
  await assert.rejects(transport.sendMail(mail), { responseCode: 451 });
  sink.setTempFail(false);

  await sink.pause();
  await assert.rejects(transport.sendMail(mail), { code: 'ESOCKET' });
  await sink.resume();
  await transport.sendMail(mail);
  await sink.waitFor(2, 1000);
  transport.close();
});

test('startRedis answers PING and survives a restart', async (t) => {
  const redis = await startRedis();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  t.after(async () => {
    client.disconnect();
    await redis.stop();
  });
  assert.equal(await client.ping(), 'PONG');
  if (process.env.REDIS_URL) return;
  await client.set('depeche:test', 'présent');
  redis.kill('SIGTERM');
  await redis.restart();
  assert.equal(await client.get('depeche:test'), 'présent');
});
