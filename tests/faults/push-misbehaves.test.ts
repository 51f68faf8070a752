// Scenario 5: push services that hang, trickle bytes, or answer with a 10 MB body. Each request
// is aborted by the deadline (PUSH_TIMEOUT_MS) or the response size cap, retried, and delivered
// on the retry; the other subscribers of the same batches are not held up beyond the deadline,
// and the worker stays healthy (alive, memory flat, next alert delivered as usual).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOBS } from './knobs';
import { startRig, pushTally, rssMb, type Rig } from './rig';
import type { TestSubscriber } from '../support/push-service';
import type { ServiceProcess } from '../support/processes';
import { pushCounts } from '../support/stack';

let rig: Rig;
let worker: ServiceProcess;
let subs: TestSubscriber[];
const N = 256;
const BATCH = 64;
before(async () => {
  rig = await startRig({
    JOB_LOCK_MS: String(KNOBS.jobLockMs),
    PUSH_TIMEOUT_MS: String(KNOBS.pushTimeoutMs),
    BATCH_SIZE: String(BATCH),
    PUSH_RETRY_DELAY_MS: '500',
  });
  subs = await rig.seedPush(N);
  await rig.api();
  worker = await rig.worker();
});
after(async () => {
  await rig.stop();
});

test(
  'hanging, trickling and 10 MB answers are cut by the deadline and the size cap, retried, delivered',
  { timeout: 120_000 },
  async (t) => {
    // One misbehaving subscriber per batch (ids are dense, in seeding order), so each failure
    // shows in its own batch's log line.
    const hang = subs[10];
    const trickle = subs[BATCH + 10];
    const huge = subs[2 * BATCH + 10];
    rig.push.setBehaviour(hang.id, { sequence: [{ hang: true }, null] });
    rig.push.setBehaviour(trickle.id, { sequence: [{ trickle: true }, null] });
    rig.push.setBehaviour(huge.id, { sequence: [{ hugeBody: 10 * 1024 * 1024 }, null] });
    const rssBefore = rssMb(worker.pid);

    const t0 = Date.now();
    const id = await rig.publish({ title: 'Services push capricieux', body: '', channels: ['push'] });
    // Everyone else is delivered without waiting for the misbehaving three.
    await rig.push.waitFor(N - 3, 30_000);
    const othersMs = Date.now() - t0;
    const view = await rig.delivered(id, 60_000);
    const allMs = Date.now() - t0;
    const tally = pushTally(rig.push, 'Services push capricieux');
    const failures = worker.logs.filter((l) => l.msg === 'job failed').map((l) => String(l.err));
    const rssAfter = rssMb(worker.pid);
    t.diagnostic(
      `others delivered in ${othersMs} ms, all ${tally.unique} in ${allMs} ms (deadline ${KNOBS.pushTimeoutMs} ms); retried batches: ${failures.join(' | ')}; worker RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`,
    );

    assert.equal(tally.unique, N);
    assert.equal(tally.duplicates, 0);
    assert.deepEqual(pushCounts(view.delivery.push), { targeted: N, sent: N, failed: 0, expired: 0, clicked: 0 });
    for (const s of [hang, trickle, huge]) assert.equal(rig.push.messages.filter((m) => m.subscriberId === s.id).length, 1);
    // A batch's log line names its first retry reason; on a loaded machine a slow neighbour may
    // time out too, hence "at least".
    assert.ok(failures.filter((f) => /timeout/.test(f)).length >= 2, 'hang and trickle hit the deadline');
    assert.ok(
      failures.some((f) => /too-large/.test(f)),
      'the 10 MB body hit the size cap',
    );

    // Still healthy: alive, no memory kept from the 10 MB answer, next alert as usual.
    assert.equal(worker.child.exitCode, null);
    assert.ok(rssAfter - rssBefore < 100, `RSS grew by ${(rssAfter - rssBefore).toFixed(0)} MB`);
    const next = await rig.publish({ title: 'Tout va bien', body: '', channels: ['push'] });
    const nextView = await rig.delivered(next, 30_000);
    assert.equal(nextView.delivery.push.sent, N);
    assert.equal(pushTally(rig.push, 'Tout va bien').duplicates, 0);
  },
);
