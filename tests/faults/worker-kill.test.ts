// Scenario 1: a worker process is SIGKILLed in the middle of a 10,000-subscriber fan-out and
// another is started. Every subscriber gets the alert; the only duplicates are the dead
// process's in-flight window: requests on the wire (at most PUSH_CONCURRENCY per process), and
// answers already received whose outcome write had not reached Redis yet (at most as many again).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOBS } from './knobs';
import { startRig, pushTally, type Rig } from './rig';
import { until, pushCounts } from '../support/stack';

const PUSH_CONCURRENCY = 100;
let rig: Rig;
before(async () => {
  rig = await startRig({ JOB_LOCK_MS: String(KNOBS.jobLockMs), PUSH_CONCURRENCY: String(PUSH_CONCURRENCY) });
});
after(async () => {
  await rig.stop();
});

test(
  `SIGKILL of a worker during a ${KNOBS.subscribers}-subscriber fan-out: none lost, duplicates within the in-flight window`,
  { timeout: 240_000 },
  async (t) => {
    const n = KNOBS.subscribers;
    const t0 = Date.now();
    await rig.seedPush(n);
    t.diagnostic(
      `seeded ${n} push subscribers in ${Date.now() - t0} ms on ${rig.cluster ? 'a 3-master Redis Cluster' : 'one redis-server'}`,
    );
    await rig.api();
    const first = await rig.worker();
    const id = await rig.publish({ title: 'Frappe sur la centrale', body: 'Premières informations.', channels: ['push'] });

    const killAt = Math.floor(n * 0.3);
    await rig.push.waitFor(killAt, 120_000);
    first.kill('SIGKILL');
    const tKill = Date.now();
    await first.waitForExit(10_000);
    const atKill = rig.push.messages.length;
    assert.ok(atKill < n, `the fan-out was over before the kill (${atKill}); use more subscribers`);
    t.diagnostic(`worker SIGKILLed after ${atKill} of ${n} pushes`);

    await rig.worker();
    const view = await rig.delivered(id, 180_000);
    await until(async () => rig.push.messages.length >= n, 10_000);
    const tally = pushTally(rig.push);
    t.diagnostic(
      `recovered in ${Date.now() - tKill} ms; received ${tally.total}, unique ${tally.unique}, duplicates ${tally.duplicates} (bound: ${PUSH_CONCURRENCY} in flight + as many unrecorded answers)`,
    );

    assert.equal(tally.unique, n, 'every subscriber got the alert');
    assert.ok(
      tally.duplicates <= 2 * PUSH_CONCURRENCY,
      `${tally.duplicates} duplicates, more than the in-flight window of ${2 * PUSH_CONCURRENCY}`,
    );
    assert.deepEqual(pushCounts(view.delivery.push), { targeted: n, sent: n, failed: 0, expired: 0, clicked: 0 });
  },
);
