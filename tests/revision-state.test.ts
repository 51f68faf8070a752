// The typed revision state on its own, against a real Redis: each named transition leaves only
// from the phases it allows, refuses the rest with what it found, and writes nothing when refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startBackend, type TestBackend } from './support/backend';
import { connectRedis, waitReady, type RedisClient } from '../src/store/redis';
import { keys as makeKeys } from '../src/store/keys';
import { Revisions, statusOf } from '../src/store/revision-state';

let backend: TestBackend;
let redis: RedisClient;
let rs: Revisions;
let k: ReturnType<typeof makeKeys>;

before(async () => {
  backend = await startBackend();
  const nodes = backend.env.REDIS_CLUSTER_NODES;
  redis = nodes
    ? connectRedis({ clusterNodes: nodes.split(',').map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })) }, 'api')
    : connectRedis({ url: backend.env.REDIS_URL }, 'api');
  await waitReady(redis);
  k = makeKeys(`t${randomBytes(4).toString('hex')}`);
  rs = new Revisions(redis, k);
});
after(async () => {
  redis.disconnect();
  await backend.stop();
});

let n = 0;
const fresh = () => `rev${n++}`;
const raw = (id: string) => redis.hgetall(k.alertState(id, 1));

test('awaitApproval → approve → schedule → start, then nothing goes back to waiting for approval', async () => {
  const id = fresh();
  assert.deepEqual(await rs.awaitApproval(id, 1, 12), { ok: true });
  assert.equal(statusOf(await rs.read(id, 1)), 'awaiting_approval');
  assert.deepEqual(await rs.schedule(id, 1, Date.now() + 60_000), { ok: false, found: 'awaiting_approval' });
  assert.deepEqual(await rs.approve(id, 1, 'chef'), { ok: true });
  assert.deepEqual(await rs.approve(id, 1, 'cheffe'), { ok: false, found: 'open' }, 'approved once only');
  const st = await rs.read(id, 1);
  assert.equal(st.approval?.audience, 12);
  assert.equal(st.approval?.by, 'chef');
  assert.deepEqual(await rs.awaitApproval(id, 1, 50), { ok: false, found: 'open' }, 'an approved revision never waits again');
});

test('start refuses a wave nobody queued, a scheduled revision before its time, and every non-sendable phase', async () => {
  const id = fresh();
  await redis.hset(k.alertMarks(id, 1), 'w:g0', 'q');
  assert.deepEqual(await rs.start(id, 1, 'g9'), { ok: false, found: 'unregistered' });
  const at = Date.now() + 60_000;
  assert.deepEqual(await rs.schedule(id, 1, at), { ok: true });
  assert.deepEqual(await rs.start(id, 1, 'g0', at - 1), { ok: false, found: 'early' });
  assert.equal((await rs.read(id, 1)).phase, 'scheduled');
  assert.deepEqual(await rs.start(id, 1, 'g0', at), { ok: true });
  assert.equal((await rs.read(id, 1)).phase, undefined);

  for (const [phase, move] of [
    ['awaiting_approval', (x: string) => rs.awaitApproval(x, 1, 5)],
    ['cancelled', (x: string) => rs.cancel(x, 1, 'redaction')],
    ['superseded', (x: string) => rs.supersede(x, 1)],
  ] as const) {
    const other = fresh();
    await redis.hset(k.alertMarks(other, 1), 'w:g0', 'q');
    assert.deepEqual(await move(other), { ok: true });
    assert.deepEqual(await rs.start(other, 1, 'g0'), { ok: false, found: phase });
  }
});

test('cancel is guarded like approve: not twice, not once delivered, not once superseded', async () => {
  const id = fresh();
  assert.deepEqual(await rs.cancel(id, 1, 'redaction'), { ok: true });
  const before = await raw(id);
  assert.deepEqual(await rs.cancel(id, 1, 'chef'), { ok: false, found: 'cancelled' });
  assert.deepEqual(await raw(id), before, 'a refused transition writes nothing');
  assert.equal((await rs.read(id, 1)).cancelled?.by, 'redaction');

  const done = fresh();
  await redis.hset(k.alertState(done, 1), 'waves', 1, 'open', 0);
  assert.equal(statusOf(await rs.read(done, 1)), 'delivered');
  assert.deepEqual(await rs.cancel(done, 1, 'redaction'), { ok: false, found: 'delivered' });
  assert.deepEqual(await rs.finish(done, 1), { ok: true });
  assert.equal((await rs.read(done, 1)).phase, 'delivered');
  // Finished once: the one caller that finished it tells the webhooks (alert.delivered).
  assert.deepEqual(await rs.finish(done, 1), { ok: false, found: 'delivered' });
  assert.deepEqual(await rs.supersede(done, 1), { ok: false, found: 'delivered' });

  const old = fresh();
  assert.deepEqual(await rs.supersede(old, 1), { ok: true });
  assert.deepEqual(await rs.cancel(old, 1, 'redaction'), { ok: false, found: 'superseded' });
  assert.deepEqual(await rs.resume(old, 1), { ok: false, found: 'superseded' });
});

test('finish only once every piece of work is done; hold only while sendable', async () => {
  const id = fresh();
  await redis.hset(k.alertState(id, 1), 'waves', 1, 'open', 2);
  assert.deepEqual(await rs.finish(id, 1), { ok: false, found: 'open' });
  assert.deepEqual(await rs.hold(id, 1, Date.now() + 5000), { ok: true });
  assert.equal(statusOf(await rs.read(id, 1)), 'held', 'waiting for its MIN_ALERT_GAP slot');
  assert.deepEqual(await rs.cancel(id, 1, 'redaction'), { ok: true });
  assert.deepEqual(await rs.hold(id, 1, Date.now() + 9000), { ok: false, found: 'cancelled' });
  assert.deepEqual(await rs.finish(id, 1), { ok: false, found: 'cancelled' });
});

test('resume: only from cancelled, back to awaiting approval when no chief had approved', async () => {
  const plain = fresh();
  assert.deepEqual(await rs.resume(plain, 1), { ok: false, found: 'open' });
  await rs.cancel(plain, 1, 'redaction');
  assert.deepEqual(await rs.resume(plain, 1), { ok: true, awaitingApproval: false });
  assert.deepEqual(await rs.resume(plain, 1), { ok: false, found: 'open' }, 'two resumes: one moves');

  const waiting = fresh();
  await rs.awaitApproval(waiting, 1, 9);
  await rs.cancel(waiting, 1, 'redaction');
  assert.deepEqual(await rs.approve(waiting, 1, 'chef'), { ok: false, found: 'cancelled' });
  assert.deepEqual(await rs.resume(waiting, 1), { ok: true, awaitingApproval: true });
  assert.equal(statusOf(await rs.read(waiting, 1)), 'awaiting_approval');
});
