// The delivery hot path against the local push service: HTTP/2 with one session per origin,
// HTTP/1.1 where a service offers no h2, the in-flight bound, deadlines, the response cap,
// redirects not followed, the allowlist checked again, our own RFC 8291 encryption, and the cap on
// origins kept open (hosts invented under a wildcard entry).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createECDH, randomBytes } from 'node:crypto';
import webpush from 'web-push';
import { PushSender, parseRetryAfter, type PushMessage } from '../src/push/sender';
import { PushTransportError } from '../src/push/origin-client';
import { VapidCache } from '../src/push/vapid';
import { parseAllowlist } from '../src/push/allowlist';
import { encryptPush, MAX_PLAINTEXT_BYTES } from '../src/push/encrypt';
import { decryptAes128gcm } from './support/push-crypto';
import { startPushService, type PushService, type TestSubscriber } from './support/push-service';
import { until } from './support/stack';
import { LOOPBACK_WILDCARD_DOMAIN } from './support/localhost-names';

let h2: PushService;
let h1: PushService;
let caFile: string;
const keys = webpush.generateVAPIDKeys();
const vapid = { ...keys, subject: 'mailto:tech@depeche.example' };

before(async () => {
  h2 = await startPushService({ applicationServerKey: keys.publicKey });
  h1 = await startPushService({ http1Only: true, applicationServerKey: keys.publicKey });
  caFile = join(mkdtempSync(join(tmpdir(), 'depeche-sender-')), 'ca.pem');
  writeFileSync(caFile, h2.ca);
});
after(async () => {
  await h2.close();
  await h1.close();
});

function sender(
  opts: Partial<{ timeoutMs: number; maxInFlight: number; maxResponseBytes: number; maxOrigins: number }> = {},
  origins = [h2.origin, h1.origin],
) {
  return new PushSender(new VapidCache(vapid), parseAllowlist(origins), { timeoutMs: 2000, maxInFlight: 50, caFile, ...opts });
}

function message(sub: TestSubscriber, text = 'Cessez-le-feu au Haut-Karabakh', extra: Partial<PushMessage> = {}): PushMessage {
  return {
    endpoint: sub.endpoint,
    p256dh: Buffer.from(sub.keys.p256dh, 'base64url'),
    auth: Buffer.from(sub.keys.auth, 'base64url'),
    plaintext: Buffer.from(text, 'utf8'),
    ttlSeconds: 3600,
    urgency: 'high',
    ...extra,
  };
}

test('our encryption: a fresh key and salt per message, readable by the subscriber, 4096 bytes at most', () => {
  const ua = createECDH('prime256v1');
  const publicKey = ua.generateKeys();
  const auth = randomBytes(16);
  const text = Buffer.from('« Alerte » : élections, résultats à 20 h 🗳️', 'utf8');
  const a = encryptPush(publicKey, auth, text);
  const b = encryptPush(publicKey, auth, text);
  assert.notDeepEqual(a.subarray(0, 16), b.subarray(0, 16), 'salt differs');
  assert.notDeepEqual(a.subarray(21, 86), b.subarray(21, 86), 'ECDH key differs');
  assert.deepEqual(decryptAes128gcm(a, { ecdh: ua, publicKey, auth }), text);
  const biggest = encryptPush(publicKey, auth, Buffer.alloc(MAX_PLAINTEXT_BYTES, 0x61));
  assert.equal(biggest.length, 4096);
  assert.throws(() => encryptPush(publicKey, auth, Buffer.alloc(MAX_PLAINTEXT_BYTES + 1, 0x61)), RangeError);
});

test('HTTP/2: many pushes share one session, with at most maxInFlight streams at once', async () => {
  h2.reset();
  const s = sender({ maxInFlight: 8 });
  try {
    const subs = Array.from({ length: 60 }, () => h2.newSubscriber());
    const answers = await Promise.all(subs.map((sub, i) => s.send(message(sub, `n° ${i}`, { topic: 'abc_DEF-123' }))));
    assert.ok(answers.every((a) => 'status' in a && a.status === 201 && a.protocol === 'h2'));
    assert.equal(h2.messages.length, 60);
    assert.equal(h2.sessions, 1, 'one TLS connection for all');
    assert.ok(h2.maxConcurrent <= 8, `at most 8 in flight, saw ${h2.maxConcurrent}`);
    assert.ok(
      h2.messages.every(
        (m) => m.httpVersion === '2.0' && m.headers.topic === 'abc_DEF-123' && m.headers.ttl === 3600 && m.headers.urgency === 'high',
      ),
    );
    assert.deepEqual(new Set(h2.messages.map((m) => m.payload)), new Set(subs.map((_, i) => `n° ${i}`)));
    // The VAPID token is signed once per origin, not once per push.
    assert.equal(new Set(h2.messages.map((m) => `${m.vapid.exp}`)).size, 1);
  } finally {
    s.close();
  }
});

test('a service without h2 is spoken to over keep-alive HTTP/1.1', async () => {
  h1.reset();
  const s = sender({ maxInFlight: 4 });
  try {
    const subs = Array.from({ length: 12 }, () => h1.newSubscriber());
    const answers = await Promise.all(subs.map((sub) => s.send(message(sub))));
    assert.ok(answers.every((a) => 'status' in a && a.status === 201 && a.protocol === 'http/1.1'));
    assert.ok(h1.messages.every((m) => m.httpVersion === '1.1'));
    assert.ok(h1.maxConcurrent <= 4);
    assert.ok(h1.sessions <= 5, `keep-alive reuses connections (1 probe + at most 4), saw ${h1.sessions}`);
  } finally {
    s.close();
  }
});

test('deadline: a hanging or trickling service is abandoned; an endless body is cut at the cap', async () => {
  h2.reset();
  const s = sender({ timeoutMs: 300, maxResponseBytes: 4096 });
  try {
    const hang = h2.newSubscriber();
    const trickle = h2.newSubscriber();
    const huge = h2.newSubscriber();
    h2.setBehaviour(hang.id, { hang: true });
    h2.setBehaviour(trickle.id, { trickle: true });
    h2.setBehaviour(huge.id, { hugeBody: 10 * 1024 * 1024 });
    const t0 = Date.now();
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'answered',
        (e: unknown) => (e instanceof PushTransportError ? e.code : String(e)),
      );
    const [a, b, c] = await Promise.all([
      outcome(s.send(message(hang))),
      outcome(s.send(message(trickle))),
      outcome(s.send(message(huge))),
    ]);
    assert.deepEqual([a, b, c], ['timeout', 'timeout', 'too-large']);
    assert.ok(Date.now() - t0 < 5000);
    // The session survives: the next push goes through.
    const ok = await s.send(message(h2.newSubscriber()));
    assert.ok('status' in ok && ok.status === 201);
  } finally {
    s.close();
  }
});

test('redirects are not followed and the allowlist is checked again before connecting', async () => {
  h2.reset();
  h1.reset();
  const s = sender({}, [h2.origin]);
  try {
    const moved = h2.newSubscriber();
    h2.setBehaviour(moved.id, { status: 307, headers: { location: h1.newSubscriber().endpoint } });
    const r = await s.send(message(moved));
    assert.ok('status' in r && r.status === 307);
    // h1's origin is not on this sender's allowlist any more: no connection at all.
    const off = await s.send(message(h1.newSubscriber()));
    assert.ok('refused' in off && /allowlist/.test(off.refused));
    assert.equal(h1.requests, 0);
  } finally {
    s.close();
  }
});

test('Retry-After as seconds or as an HTTP date', () => {
  assert.equal(parseRetryAfter('120'), 120_000);
  assert.equal(parseRetryAfter(new Date(Date.parse('2030-01-01T00:00:10Z')).toUTCString(), Date.parse('2030-01-01T00:00:00Z')), 10_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('the VAPID header is renewed well before it expires', () => {
  let now = 1_000_000;
  const cache = new VapidCache(vapid, () => now);
  const first = cache.header('https://fcm.googleapis.com');
  assert.equal(cache.header('https://fcm.googleapis.com'), first);
  assert.notEqual(cache.header('https://web.push.apple.com'), first, 'one token per origin');
  const exp = (JSON.parse(Buffer.from(/t=([^.]+)\.([^.]+)/.exec(first)![2], 'base64url').toString()) as { exp: number }).exp;
  assert.ok(exp - now <= 24 * 3600, 'exp within 24 h (RFC 8292)');
  now = exp - 30 * 60;
  assert.notEqual(cache.header('https://fcm.googleapis.com'), first, 'renewed with time to spare');
});

test('the VAPID cache keeps headers for at most its cap of origins, the oldest dropped first', () => {
  const cache = new VapidCache(vapid, undefined, 10);
  const first = cache.header('https://web.push.apple.com');
  for (let n = 0; n < 30; n++) cache.header(`https://host-${n}.notify.windows.com`);
  assert.equal(cache.size, 10);
  assert.notEqual(cache.header('https://web.push.apple.com'), first, 'signed again after being dropped');
});

/** `https://*.push.localhost:<port of h2>`: any name under it reaches h2. */
const wildcardOf = (svc: PushService) => `https://*.${LOOPBACK_WILDCARD_DOMAIN}:${new URL(svc.origin).port}`;
const invented = (n: number | string) => `host-${n}.${LOOPBACK_WILDCARD_DOMAIN}`;

test('warm connects only to origins the allowlist names exactly, never to hosts invented under a wildcard', async () => {
  h2.reset();
  const s = sender({}, [h2.origin, wildcardOf(h2)]);
  try {
    const port = new URL(h2.origin).port;
    const made = [1, 2, 3].map((n) => `https://${invented(n)}:${port}`);
    await s.warm([...made, h2.origin, 'https://push.evil.example']);
    assert.equal(s.openOrigins, 1);
    // warm() resolved once every handshake it began was done on our side; a push on the warmed
    // session then gives the service time to have seen them all on its side.
    const first = await s.send(message(h2.newSubscriber()));
    assert.ok('status' in first && first.status === 201);
    assert.deepEqual(h2.serverNames, [''], 'one connection, to 127.0.0.1 (no SNI), none to an invented name');
    // Sending to an invented host still works: it only was not connected to ahead.
    const r = await s.send(message(h2.newSubscriber({ host: invented('late') })));
    assert.ok('status' in r && r.status === 201);
    assert.deepEqual(h2.serverNames, ['', invented('late')]);
  } finally {
    s.close();
  }
});

test('at most maxOrigins origins keep a client: the least recently used is dropped and its connection closed', async () => {
  h2.reset();
  const s = sender({ maxOrigins: 3 }, [h2.origin, wildcardOf(h2)]);
  try {
    const regular = h2.newSubscriber();
    for (let n = 0; n < 12; n++) {
      // The regular origin is used before each invented one, so it stays among the recent.
      for (const sub of [regular, h2.newSubscriber({ host: invented(n) })]) {
        const r = await s.send(message(sub));
        assert.ok('status' in r && r.status === 201, JSON.stringify(r));
      }
      assert.ok(s.openOrigins <= 3, `${s.openOrigins} origins after ${n + 1} invented hosts`);
    }
    assert.equal(h2.messages.length, 24);
    await until(() => Promise.resolve(h2.openConnections <= 3), 5000);
    assert.equal(h2.serverNames.filter((n) => n === '').length, 1, `the regular origin was never dropped: ${h2.serverNames.join(' ')}`);
    // Requests in flight on a dropped client end normally: 6 invented hosts at once, cap 3.
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => s.send(message(h2.newSubscriber({ host: invented(`b${i}`) })))));
    assert.ok(
      burst.every((r) => 'status' in r && r.status === 201),
      JSON.stringify(burst),
    );
    assert.ok(s.openOrigins <= 3);
    await until(() => Promise.resolve(h2.openConnections <= 3), 5000);
  } finally {
    s.close();
  }
});
