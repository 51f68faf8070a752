// The push status matrix through the whole pipeline (API → fan-out → batch → sender → local
// push service): what is sent, retried, counted failed or expired, and who is deleted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack, pushCounts } from './support/stack';
import type { BehaviourSetting, TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';

let s: Stack;
// The deadline is generous: on a loaded machine a slow 201 must not pass for a timeout (and be sent twice).
before(async () => {
  s = await startStack({ PUSH_TIMEOUT_MS: '2000', PUSH_RETRY_DELAY_MS: '50', PUSH_RETRY_MAX_DELAY_MS: '200' });
});
after(async () => {
  await s.stop();
});

/** Subscribers get a topic of their own test, so alerts of other tests never reach them. */
async function subscribe(topic: string, behaviour?: BehaviourSetting): Promise<TestSubscriber> {
  await ensureTopics(s, [topic]);
  const b = s.push.newSubscriber();
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: [topic] });
  assert.equal(r.status, 201);
  if (behaviour !== undefined) s.push.setBehaviour(b.id, behaviour);
  return b;
}

async function publish(topic: string, title = `Alerte ${topic}`): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { title, body: 'Texte', topics: [topic], channels: ['push'] }, editor());
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
}

const requestsTo = (sub: TestSubscriber) =>
  s.push.rejections.filter((r) => r.subscriberId === sub.id).length + s.push.messages.filter((m) => m.subscriberId === sub.id).length;
const delivered = (sub: TestSubscriber) => s.push.messages.filter((m) => m.subscriberId === sub.id);

test('201/202 sent; 404/410 expired and deleted; 413 and 400/401/403 failed, kept, one log line per batch', async () => {
  const ok201 = await subscribe('matrix');
  const ok202 = await subscribe('matrix', { status: 202 });
  const gone404 = await subscribe('matrix', { status: 404 });
  const gone410 = await subscribe('matrix', { status: 410 });
  const big413 = await subscribe('matrix', { status: 413 });
  const bad = await Promise.all([400, 401, 403].map((status) => subscribe('matrix', { status })));

  const id = await publish('matrix');
  const view = await s.delivered(id, 10_000);
  assert.deepEqual(pushCounts(view.delivery.push), { targeted: 8, sent: 2, failed: 4, expired: 2, clicked: 0 });
  assert.equal(delivered(ok201).length, 1);
  assert.equal(delivered(ok202).length, 1);
  for (const sub of [gone404, gone410, big413, ...bad]) assert.equal(requestsTo(sub), 1, 'no retry');

  const lines = s.logs.filter((l) => l.msg === 'delivery failures in batch' && l.alertId === id);
  assert.equal(lines.length, 1, 'one summarising line for the batch');
  assert.deepEqual(lines[0].failures, { 'http 400': 1, 'http 401': 1, 'http 403': 1, 'http 413': 1 });
  assert.equal(lines[0].level, 50, 'logged as an error');

  // The next alert: 404/410 are gone for good, the 4xx ones are still subscribed.
  s.push.reset();
  const next = await publish('matrix', 'Deuxième alerte');
  const view2 = await s.delivered(next, 10_000);
  assert.deepEqual(pushCounts(view2.delivery.push), { targeted: 6, sent: 6, failed: 0, expired: 0, clicked: 0 });
  for (const sub of [gone404, gone410]) assert.equal(requestsTo(sub), 0);
  for (const sub of [ok201, ok202, big413, ...bad]) assert.equal(delivered(sub).length, 1);
});

test('5xx, hangs, trickles and endless bodies are retried until delivered, once each', async () => {
  const subs = [
    await subscribe('retry', { sequence: [{ status: 500 }, { status: 503 }, null] }),
    await subscribe('retry', { sequence: [{ status: 502 }, null] }),
    await subscribe('retry', { sequence: [{ hang: true }, null] }),
    await subscribe('retry', { sequence: [{ trickle: true }, null] }),
    await subscribe('retry', { sequence: [{ hugeBody: 10 * 1024 * 1024 }, null] }),
  ];
  const id = await publish('retry');
  const view = await s.delivered(id, 20_000);
  assert.deepEqual(pushCounts(view.delivery.push), { targeted: 5, sent: 5, failed: 0, expired: 0, clicked: 0 });
  for (const sub of subs) assert.equal(delivered(sub).length, 1, 'delivered exactly once');
  assert.equal(requestsTo(subs[0]), 3);
});

test('a service that keeps failing: the batch gives up after its attempts, failed, never deleted', async () => {
  const down = await subscribe('down', { status: 500 });
  const id = await publish('down');
  const view = await s.delivered(id, 20_000);
  assert.deepEqual(pushCounts(view.delivery.push), { targeted: 1, sent: 0, failed: 1, expired: 0, clicked: 0 });
  assert.equal(requestsTo(down), 8, 'the 8 attempts of a push batch');
  assert.ok(s.logs.some((l) => l.msg === 'batch gave up after retries' && l.alertId === id));
  s.push.setBehaviour(down.id, null);
  const again = await publish('down', 'Service rétabli');
  assert.equal((await s.delivered(again, 10_000)).delivery.push.sent, 1);
});

test('429 with Retry-After pauses the whole push queue for that long, then delivers', async () => {
  const busy = await subscribe('busy', { sequence: [{ status: 429, headers: { 'retry-after': '1' } }, null] });
  const other = await subscribe('busy-other');
  const id = await publish('busy');
  const limited = await until(async () => s.push.rejections.find((r) => r.subscriberId === busy.id && r.status === 429), 5000);
  // The queue is paused (BullMQ's rate limit), so an alert published now waits too.
  const ttl = await until(
    async () => {
      const t = await s.app.queues.push.getRateLimitTtl(1_000_000);
      return t > 0 ? t : null;
    },
    2000,
    5,
  );
  assert.ok(ttl <= 1000);
  const second = await publish('busy-other');
  await s.delivered(id, 10_000);
  await s.delivered(second, 10_000);
  const got = delivered(busy)[0];
  const gotOther = delivered(other)[0];
  assert.ok(got.receivedAt - limited.at >= 900, `retried ${got.receivedAt - limited.at} ms after the 429`);
  assert.ok(gotOther.receivedAt - limited.at >= 900, `other alert waited ${gotOther.receivedAt - limited.at} ms`);
  assert.equal(requestsTo(busy), 2);
  assert.ok(s.logs.some((l) => l.msg === 'push service rate limit: queue paused' && l.waitMs === 1000));
});
