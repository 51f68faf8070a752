// Scenario 6: SIGTERM is a graceful shutdown. A worker process in the middle of a fan-out stops
// taking jobs, lets the requests on the wire finish and records their answers, hands its running
// batches back to the queue, and exits 0 well within SHUTDOWN_TIMEOUT_MS. The next worker
// finishes the alert with no duplicate at all. The API process also exits 0 on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { KNOBS } from './knobs';
import { startRig, pushTally, type Rig } from './rig';
import { spawnService } from '../support/processes';
import { pushCounts } from '../support/stack';

const SHUTDOWN_TIMEOUT_MS = 10_000;
let rig: Rig;
const BATCH = 512;
const LANES = 4; // WORKER_CONCURRENCY: batches running at once in one process
before(async () => {
  rig = await startRig({
    JOB_LOCK_MS: String(KNOBS.jobLockMs),
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    BATCH_SIZE: String(BATCH),
    WORKER_CONCURRENCY: String(LANES),
  });
});
after(async () => {
  await rig.stop();
});

test('SIGTERM during a fan-out: stops taking jobs, hands running batches back, exits 0; no duplicate', { timeout: 240_000 }, async (t) => {
  const n = KNOBS.subscribers;
  await rig.seedPush(n);
  await rig.api();
  const first = await rig.worker();
  const id = await rig.publish({ title: 'Remaniement ministériel', body: 'La liste complète.', channels: ['push'] });
  // Batches run LANES at a time at about the same pace: halfway through the third wave, every
  // lane is in the middle of a batch.
  await rig.push.waitFor(Math.min(Math.floor(2.5 * LANES * BATCH), Math.floor(n / 2)), 120_000);

  const tTerm = Date.now();
  first.kill('SIGTERM');
  // SIGTERM must end it within SHUTDOWN_TIMEOUT_MS; twice that is where waiting becomes a hang.
  const { code } = await first.waitForExit(2 * SHUTDOWN_TIMEOUT_MS);
  const took = Date.now() - tTerm;
  const atExit = rig.push.messages.length;
  const handedBack = first.logs.filter((l) => l.msg === 'shutdown: batch handed back').length;
  t.diagnostic(`SIGTERM after ${atExit} of ${n} pushes; exit ${code} in ${took} ms; ${handedBack} running batch(es) handed back`);
  assert.equal(code, 0, first.stderr());
  assert.ok(took < SHUTDOWN_TIMEOUT_MS, `took ${took} ms`);
  assert.ok(atExit < n, 'it stopped before the end of the fan-out');
  assert.ok(first.logs.some((l) => l.msg === 'stopped'));
  assert.ok(handedBack >= 1, 'a batch was running, and was handed back');

  // Nothing is left locked by the dead process: its batches are waiting for the next worker.
  const queue = new Queue('push', { connection: rig.db, prefix: rig.keys.queuePrefix });
  assert.equal(await queue.getActiveCount(), 0);
  await queue.close();
  assert.equal(rig.push.messages.length, atExit, 'nothing was sent after the exit');

  const tNext = Date.now();
  await rig.worker();
  const view = await rig.delivered(id, 180_000);
  const tally = pushTally(rig.push);
  t.diagnostic(
    `next worker finished in ${Date.now() - tNext} ms; received ${tally.total}, unique ${tally.unique}, duplicates ${tally.duplicates}`,
  );
  assert.equal(tally.unique, n);
  assert.equal(tally.duplicates, 0);
  assert.deepEqual(pushCounts(view.delivery.push), { targeted: n, sent: n, failed: 0, expired: 0, clicked: 0 });
});

test('SIGTERM on an API process: exits 0', { timeout: 60_000 }, async () => {
  const api = spawnService('api', rig.env);
  await api.waitForLog((l) => l.msg === 'API listening');
  api.kill('SIGTERM');
  const { code } = await api.waitForExit(2 * SHUTDOWN_TIMEOUT_MS);
  assert.equal(code, 0, api.stderr());
});
