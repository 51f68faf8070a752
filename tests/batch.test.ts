// The delivery batch without BullMQ: runBatch against a real Redis with a scripted channel, and
// `decide`, the one function that turns a batch's result into what BullMQ does with the job.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startRedis, type TestRedis } from './support/redis';
import { connectRedis, waitReady, type RedisClient } from '../src/store/redis';
import { keys } from '../src/store/keys';
import { Progress } from '../src/store/progress';
import { Alerts } from '../src/store/alerts';
import { bitmapOf } from '../src/bits';
import { createLogger } from '../src/log';
import { runBatch, type BatchDeps, type BatchResult, type Tally } from '../src/pipeline/batch';
import { decide, MAX_RATE_LIMITED_ROUNDS } from '../src/pipeline/deliver';
import { chunkBatches, LaneGate } from '../src/pipeline/lanes';
import type { DeliveryChannel, SendOutcome } from '../src/channels/channel';
import type { Alert } from '../src/model';

let redis: TestRedis;
let client: RedisClient;
before(async () => {
  redis = await startRedis();
  client = connectRedis({ url: redis.url }, 'api');
  await waitReady(client);
});
after(async () => {
  client.disconnect();
  await redis.stop();
});

/** A channel whose answer per recipient id is scripted; it remembers whom it was asked to forget. */
function scripted(
  answers: Record<number, SendOutcome>,
  present: readonly number[],
): DeliveryChannel & { asked: number[]; forgotten: number[] } {
  const asked: number[] = [];
  const forgotten: number[] = [];
  return {
    name: 'push',
    concurrency: 2,
    ownRecipients: () => null,
    asked,
    forgotten,
    prepare: async (_alert: Alert, ids: readonly number[]) =>
      new Map(
        ids
          .filter((id) => present.includes(id))
          .map((id) => [
            id,
            async () => {
              asked.push(id);
              return answers[id] ?? { kind: 'sent' };
            },
          ]),
      ),
    forget: async (_alert: Alert, id: number) => {
      forgotten.push(id);
    },
    close: async () => undefined,
  };
}

async function alertWithAudience(ids: number[]): Promise<{ deps: (ch: DeliveryChannel) => BatchDeps; alert: Alert }> {
  const k = keys(`t${randomBytes(4).toString('hex')}`);
  const progress = new Progress(client, k);
  const alerts = new Alerts(client, k, progress);
  const alert: Alert = {
    id: `a${randomBytes(4).toString('hex')}`,
    rev: 1,
    kind: 'original',
    title: 'Cessez-le-feu',
    body: 'Texte',
    topics: [],
    urgency: 'high',
    channels: ['push'],
    flash: false,
    createdAt: new Date().toISOString(),
    createdBy: 'test',
  };
  await alerts.create(alert);
  await progress.storeAudience(alert.id, 1, 'push', bitmapOf(ids));
  await progress.buildWave(alert.id, 1, 'push', 'g0');
  const log = createLogger('silent');
  return { alert, deps: (ch) => ({ alerts, progress, log, channels: { push: ch, email: ch } }) };
}

const spec = (alertId: string) => ({ alertId, rev: 1, channel: 'push' as const, start: 0, size: 512, wave: 'g0', gen: 0 });

test('runBatch sends to every member of the wave once, settles the gone as skipped, and forgets the expired', async () => {
  const { alert, deps } = await alertWithAudience([1, 2, 3, 9]);
  const ch = scripted({ 3: { kind: 'expired' } }, [1, 2, 3]);
  const result = await runBatch(deps(ch), spec(alert.id));
  assert.equal(result.kind, 'settled');
  assert.deepEqual((result as { tally: Tally }).tally, { sent: 2, failed: 0, expired: 1, retry: 0, skipped: 1, stopped: false });
  assert.deepEqual([...ch.asked].sort(), [1, 2, 3]);
  assert.deepEqual(ch.forgotten, [3]);
  const again = scripted({}, [1, 2, 3, 9]);
  assert.equal((await runBatch(deps(again), spec(alert.id))).kind, 'settled');
  assert.deepEqual(again.asked, [], 'a second run sends to nobody already settled');
});

test('runBatch: a batch spanning several blocks (the flash lane) sends once to every reader of the wave in its span', async () => {
  const { alert, deps } = await alertWithAudience([5, 700, 5000, 9000, 9300]);
  const ch = scripted({}, [5, 700, 5000, 9000, 9300]);
  const wide = { ...spec(alert.id), size: 18 * 512 };
  const result = await runBatch(deps(ch), wide);
  assert.equal(result.kind, 'settled');
  assert.deepEqual(
    [...ch.asked].sort((a, b) => a - b),
    [5, 700, 5000, 9000],
    'id 9300 lies past the span (9216 ids)',
  );
  const again = scripted({}, [5, 700, 5000, 9000, 9300]);
  await runBatch(deps(again), wide);
  assert.deepEqual(again.asked, [], 'a second run sends to nobody already settled');
});

/** Which batch holds each id: every id must be in exactly one. */
function holders(batches: { start: number; size: number }[], ids: readonly number[]): number[] {
  return ids.map((id) => batches.filter((b) => id >= b.start && id < b.start + b.size).length);
}
const recipientsIn = (b: { start: number; size: number }, ids: readonly number[]) =>
  ids.filter((id) => id >= b.start && id < b.start + b.size).length;

test('chunkBatches: one batch per block holding a recipient in the normal lane; in the flash lane, scattered readers share a batch', () => {
  const scattered = Array.from({ length: 100 }, (_, i) => 1 + i * 400);
  const bits = bitmapOf(scattered);
  const normal = [...chunkBatches(bits, 0, 512, false)];
  assert.equal(normal.length, new Set(scattered.map((id) => id >> 9)).size);
  assert.ok(normal.every((b) => b.size === 512 && b.start % 512 === 0));
  assert.deepEqual(
    holders(normal, scattered),
    scattered.map(() => 1),
  );
  const flash = [...chunkBatches(bits, 0, 512, true)];
  assert.equal(flash.length, 1, 'a hundred readers spread over 40,000 ids make one flash batch');
  assert.deepEqual(
    holders(flash, scattered),
    scattered.map(() => 1),
  );
  // A chunk that does not start at id 0: starts are absolute ids.
  assert.deepEqual([...chunkBatches(bitmapOf([3]), 1024, 512, true)], [{ start: 1024, size: 512 }]);
});

test('chunkBatches: a flash batch never holds more recipients than a block has ids', () => {
  // Blocks 0–2 full (512 each), then 300 in block 3, 300 in block 4, 10 in block 9.
  const ids = [
    ...Array.from({ length: 3 * 512 }, (_, i) => i),
    ...Array.from({ length: 300 }, (_, i) => 3 * 512 + i),
    ...Array.from({ length: 300 }, (_, i) => 4 * 512 + i),
    ...Array.from({ length: 10 }, (_, i) => 9 * 512 + i),
  ];
  const flash = [...chunkBatches(bitmapOf(ids), 0, 512, true)];
  assert.deepEqual(
    holders(flash, ids),
    ids.map(() => 1),
  );
  assert.ok(flash.every((b) => recipientsIn(b, ids) <= 512 && b.size % 512 === 0 && b.start % 512 === 0));
  assert.equal(flash.length, 5, 'three full blocks, then 300, then 300 + 10');
});

test('runBatch reports the recipients a channel asked to retry as pending, with their reasons', async () => {
  const { alert, deps } = await alertWithAudience([4, 5]);
  const ch = scripted({ 5: { kind: 'retry', reason: 'HTTP 429', retryAfterMs: 3000, rateLimited: true } }, [4, 5]);
  const result = await runBatch(deps(ch), spec(alert.id));
  assert.equal(result.kind, 'pending');
  const p = result;
  assert.deepEqual(p.pending, [5]);
  assert.deepEqual(p.retries, [{ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 3000, rateLimited: true }]);
  assert.equal(p.shuttingDown, false);
});

test('runBatch sends nothing for a revision that was cancelled (stop raised)', async () => {
  const { alert, deps } = await alertWithAudience([6, 7]);
  const d = deps(scripted({}, [6, 7]));
  await d.progress.raiseStop(alert.id, 1);
  const ch = d.channels.push as ReturnType<typeof scripted>;
  const result = await runBatch(d, spec(alert.id));
  assert.equal(result.kind, 'settled');
  assert.equal((result as { tally: Tally }).tally.stopped, true);
  assert.deepEqual(ch.asked, []);
});

test('a normal batch starts no send while a flash batch holds its channel’s gate, then sends everyone once', async () => {
  const { alert, deps } = await alertWithAudience([10, 11, 12, 13, 14]);
  const ch = scripted({}, [10, 11, 12, 13, 14]);
  const gate = new LaneGate();
  const release = gate.hold();
  const running = runBatch({ ...deps(ch), paused: () => gate.passage() }, spec(alert.id));
  // Many turns of the event loop, and Redis round trips, while the flash runs: nothing is sent.
  for (let i = 0; i < 20; i++) await client.ping();
  assert.deepEqual(ch.asked, [], 'no send while the gate is held');
  release();
  const result = await running;
  assert.equal(result.kind, 'settled');
  assert.deepEqual([...ch.asked].sort(), [10, 11, 12, 13, 14]);
  assert.equal(gate.passage(), undefined);
});

const tally: Tally = { sent: 0, failed: 0, expired: 0, retry: 1, skipped: 0, stopped: false };
const pending = (over: Partial<Extract<BatchResult, { kind: 'pending' }>> = {}): BatchResult => ({
  kind: 'pending',
  tally,
  pending: [8],
  retries: [{ reason: 'HTTP 503' }],
  shuttingDown: false,
  publishedAtMs: 0,
  ...over,
});
const can = { handBack: true, pauseQueue: true };

test('decide: a settled batch completes, a missing revision fails for good', () => {
  assert.deepEqual(decide({ kind: 'settled', tally }, { made: 0, started: 1, allowed: 8 }, can), { do: 'complete' });
  assert.equal(decide({ kind: 'missing' }, { made: 0, started: 1, allowed: 8 }, can).do, 'fail');
});

test('decide: shutting down hands the batch back before any retry arithmetic', () => {
  assert.deepEqual(decide(pending({ shuttingDown: true }), { made: 7, started: 8, allowed: 8 }, can), { do: 'hand-back' });
  assert.equal(
    decide(pending({ shuttingDown: true }), { made: 0, started: 1, allowed: 8 }, { handBack: false, pauseQueue: true }).do,
    'retry',
  );
});

test('decide: a 429 pauses the queue for the longest Retry-After, without using an attempt, up to the round limit', () => {
  const limited = pending({
    retries: [
      { reason: 'HTTP 429', retryAfterMs: 2000, rateLimited: true },
      { reason: 'HTTP 429', rateLimited: true },
    ],
  });
  assert.deepEqual(decide(limited, { made: 7, started: 9, allowed: 8 }, can), { do: 'pause-queue', ms: 5000 });
  const tooMany = decide(limited, { made: 7, started: 8 + MAX_RATE_LIMITED_ROUNDS, allowed: 8 }, can);
  assert.equal(tooMany.do, 'give-up');
});

test('decide: transient failures retry while attempts remain, with the soonest time the service allowed, then give up', () => {
  assert.deepEqual(decide(pending({ retries: [{ reason: 'HTTP 503', retryAfterMs: 4000 }] }), { made: 2, started: 3, allowed: 8 }, can), {
    do: 'retry',
    pending: 1,
    reason: 'HTTP 503',
    retryAfterMs: 4000,
  });
  assert.deepEqual(decide(pending(), { made: 7, started: 8, allowed: 8 }, can), {
    do: 'give-up',
    pending: [8],
    reason: 'HTTP 503',
    publishedAtMs: 0,
  });
});
