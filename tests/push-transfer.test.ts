// Bringing subscribers over from another provider: NDJSON import with the validation of a single
// subscribe (bad lines reported by number, nothing stored for them), and the export that reads back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { startStack, editor, type Stack } from './support/stack';
import { ensureTopics } from './support/topics';
import type { TestSubscriber } from './support/push-service';

let s: Stack;
before(async () => {
  s = await startStack();
  await ensureTopics(s, ['monde']);
});
after(async () => {
  await s.stop();
});

const line = (b: TestSubscriber, topics?: string[]) =>
  JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys }, ...(topics ? { topics } : {}) });

async function importNdjson(body: string, headers: Record<string, string> = {}) {
  return s.api('POST', '/api/subscriptions/push/import', body, { 'content-type': 'application/x-ndjson', ...editor(), ...headers });
}

async function exported(): Promise<{ subscription: { endpoint: string; keys: { p256dh: string; auth: string } }; topics: string[] }[]> {
  const r = await s.api('GET', '/api/subscriptions/push/export', undefined, editor());
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as never);
}

test('import: good lines are stored, bad lines are reported by number and change nothing', async () => {
  const [a, b, c, d] = Array.from({ length: 4 }, () => s.push.newSubscriber());
  const already = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: d.endpoint, keys: d.keys } });
  assert.equal(already.status, 201);
  const offCurve = Buffer.alloc(65, 7);
  offCurve[0] = 4;
  const stranger = { ...a, endpoint: 'https://push.evil.example/x' };
  const body = [
    line(a, ['sport']), // 1 imported
    '{"subscription": ', // 2 not JSON
    line(stranger), // 3 off the allowlist
    '', // 4 blank: skipped
    JSON.stringify({
      subscription: { endpoint: s.push.newSubscriber().endpoint, keys: { ...b.keys, p256dh: offCurve.toString('base64url') } },
    }), // 5
    JSON.stringify({ subscription: { endpoint: s.push.newSubscriber().endpoint, keys: { ...b.keys, auth: 'c2hvcnQ' } } }), // 6 auth not 16 bytes
    line(b, ['Pas Un Slug']), // 7 bad topic
    line(b) + '\r', // 8 imported (CRLF)
    '[1, 2, 3]', // 9 not an object
    JSON.stringify({ subscription: { endpoint: c.endpoint, keys: c.keys }, topics: ['culture'], pad: 'x'.repeat(20_000) }), // 10 too long
    line(c, ['culture']), // 11 imported
    line(d, ['sport']), // 12 updated (subscribed before)
    line(a, ['sport', 'monde']), // 13 updated (same endpoint as line 1)
    line(s.push.newSubscriber(), ['sport', 'sujet-invente']), // 14 a topic the newsroom does not have
  ].join('\n');
  const r = await importNdjson(body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.imported, 3);
  assert.equal(r.json.updated, 2);
  assert.equal(r.json.rejected, 8);
  const errors = r.json.errors as unknown as { line: number; reason: string }[];
  assert.deepEqual(
    errors.map((e) => e.line),
    [2, 3, 5, 6, 7, 9, 10, 14],
  );
  const reason = (n: number) => errors.find((e) => e.line === n)!.reason;
  assert.equal(reason(2), 'not valid JSON');
  assert.match(reason(3), /^subscription\.endpoint: endpoint is not on the push-service allowlist/);
  assert.match(reason(5), /^subscription\.keys\.p256dh: /);
  assert.match(reason(6), /^subscription\.keys\.auth: /);
  assert.match(reason(7), /^topics\.0: /);
  assert.match(reason(10), /longer than 16384 bytes/);
  assert.equal(reason(14), 'topics: unknown topic "sujet-invente"');

  // Exactly the good lines are subscribed, with the topics of their last line.
  const byEndpoint = new Map((await exported()).map((l) => [l.subscription.endpoint, l]));
  assert.deepEqual(byEndpoint.get(a.endpoint)!.topics, ['sport', 'monde']);
  assert.deepEqual(byEndpoint.get(b.endpoint)!.topics, []);
  assert.deepEqual(byEndpoint.get(c.endpoint)!.topics, ['culture']);
  assert.deepEqual(byEndpoint.get(d.endpoint)!.topics, ['sport']);
  assert.equal(byEndpoint.size, 4, 'nothing from a rejected line');

  s.push.reset();
  const pub = await s.api('POST', '/api/alerts', { title: 'Victoire des Bleus', topics: ['sport'], channels: ['push'] }, editor());
  const view = await s.delivered(String(pub.json.id), 10_000);
  // a and d follow sport; b has no topics so gets everything; c follows culture only.
  assert.equal(view.delivery.push.sent, 3);
  assert.deepEqual(new Set(s.push.messages.map((m) => m.subscriberId)), new Set([a.id, b.id, d.id]));
});

test('import: editor token and NDJSON content type required; nothing stored otherwise', async () => {
  const b = s.push.newSubscriber();
  const anon = await s.api('POST', '/api/subscriptions/push/import', line(b), { 'content-type': 'application/x-ndjson' });
  assert.equal(anon.status, 401);
  const json = await importNdjson(line(b), { 'content-type': 'application/json' });
  assert.equal(json.status, 415);
  assert.equal(json.json.error.code, 'unsupported_media_type');
  assert.equal((await s.api('GET', '/api/subscriptions/push/export')).status, 401);
  assert.ok(!(await exported()).some((l) => l.subscription.endpoint === b.endpoint));
});

test('export: every subscriber once, with keys that still encrypt, and it imports back unchanged', async () => {
  const subs = Array.from({ length: 600 }, () => s.push.newSubscriber());
  const r = await importNdjson(subs.map((b, i) => line(b, i % 2 ? ['monde'] : undefined)).join('\n') + '\n');
  assert.equal(r.json.imported, 600);
  const lines = await exported();
  assert.equal(new Set(lines.map((l) => l.subscription.endpoint)).size, lines.length, 'no endpoint twice');
  const mine = new Map(lines.map((l) => [l.subscription.endpoint, l]));
  for (const [i, b] of subs.entries()) {
    const l = mine.get(b.endpoint)!;
    assert.deepEqual(l.subscription.keys, b.keys);
    assert.deepEqual(l.topics, i % 2 ? ['monde'] : []);
  }
  // The keys are real P-256 points.
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  assert.equal(ecdh.computeSecret(Buffer.from(lines[0].subscription.keys.p256dh, 'base64url')).length, 32);
  const back = await importNdjson(lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.deepEqual(
    { imported: back.json.imported, updated: back.json.updated, rejected: back.json.rejected },
    { imported: 0, updated: lines.length, rejected: 0 },
  );
});
