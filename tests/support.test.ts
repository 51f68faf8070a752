import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { connect } from 'node:http2';
import Redis from 'ioredis';
import nodemailer from 'nodemailer';
import webpush, { WebPushError } from 'web-push';
import { startPushService, type PushService, type TestSubscriber } from './support/push-service';
import { startRedis } from './support/redis';
import { startSmtpServer } from './support/smtp';

const FRENCH = 'Alerte : élection présidentielle, résultats à 20 h — ça bouge ! 🗳️';

type VapidDetails = NonNullable<webpush.RequestOptions['vapidDetails']>;

function vapid(keys = webpush.generateVAPIDKeys()): VapidDetails {
  return { subject: 'mailto:test@example.com', publicKey: keys.publicKey, privateKey: keys.privateKey };
}

function send(svc: PushService, sub: TestSubscriber, payload: string, vapidDetails = vapid()) {
  return webpush.sendNotification(sub, payload, { vapidDetails, TTL: 60, agent: new Agent({ ca: svc.ca }) });
}

/** Sends the request web-push would build, but over HTTP/2, optionally tampered with. */
async function sendH2(svc: PushService, sub: TestSubscriber, payload: string, edit = (h: Record<string, string>) => h) {
  const details = webpush.generateRequestDetails(sub, payload, { vapidDetails: vapid(), TTL: 60 });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(details.headers)) headers[k.toLowerCase()] = String(v);
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
  const svc = await startPushService();
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

  // Public key from one pair, private key from another: the signature cannot verify.
  const a = webpush.generateVAPIDKeys();
  const b = webpush.generateVAPIDKeys();
  const bad = { subject: 'mailto:test@example.com', publicKey: a.publicKey, privateKey: b.privateKey };
  await assert.rejects(send(svc, sub, 'x', bad), (err: unknown) => err instanceof WebPushError && err.statusCode === 403);
  const { at, ...rejection } = svc.rejections.at(-1)!;
  assert.ok(at > 0);
  assert.deepEqual(rejection, { reason: 'bad signature', status: 403, subscriberId: sub.id });
  assert.equal(svc.messages.length, 2);
  assert.equal(svc.inFlight, 0);
});

test('push service over HTTP/2, validation and behaviours', async (t) => {
  const svc = await startPushService();
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
  assert.deepEqual(svc.messages.map((m) => m.payload), ['bonjour', 'trois']);

  svc.setBehaviour(sub.id, { status: 410 });
  await assert.rejects(send(svc, sub, 'parti'), (err: unknown) => err instanceof WebPushError && err.statusCode === 410);
  svc.setBehaviour(sub.id, null);
  assert.ok(svc.sessions >= 4);
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
