// Scenario: the worker process is SIGKILLed in the middle of a daily digest's send, behind a slow
// SMTP server, and another worker is started. The day's claim is set before each send, so the
// restarted batch skips everyone the dead process had started: nobody gets the digest twice.
// Readers the dead process had claimed without an answer (at most its sends in flight) get none:
// the digest promises at most one a day, and those readers are the run's `pending` figure.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { KNOBS } from './knobs';
import { startRig, type Rig } from './rig';
import { until } from '../support/stack';
import { clockText, localDay } from '../../src/digest-clock';
import { DIGEST_OUTCOMES, DigestStore } from '../../src/store/digest';
import { DIGEST_QUEUE, type DigestJob } from '../../src/pipeline/digest';

const N = 300;
const POOL = 2;
const BATCH = 128;
/** Claims a worker may hold without an answer: two batch jobs at once, each POOL × 2 lanes. */
const IN_FLIGHT = 2 * POOL * 2;
const REPLY_DELAY_MS = 40;

let rig: Rig;
before(async () => {
  rig = await startRig({
    JOB_LOCK_MS: String(KNOBS.jobLockMs),
    DIGEST_TIMES: '*/1',
    SMTP_POOL_SIZE: String(POOL),
    BATCH_SIZE: String(BATCH),
  });
});
after(async () => {
  await rig.stop();
});

test(
  `SIGKILL of the worker in the middle of a ${N}-reader digest: after a restart nobody has two, everyone else has one`,
  { timeout: 240_000 },
  async (t) => {
    await rig.api();
    const first = await rig.worker();
    // One instant reader, so the story below really goes out by email (and enters the digest).
    const [instant] = await rig.seedEmail(1);
    // The first whole minute at least 20 s ahead: seeding and the alert are done before it.
    const dueAt = Math.ceil((Date.now() + 20_000) / 60_000) * 60_000;
    const { date, minute } = localDay('UTC', dueAt);
    const readers = Array.from({ length: N }, (_, i) => `resume${i}.${dueAt}@exemple.fr`);
    for (let i = 0; i < N; i += 100) {
      await Promise.all(
        readers.slice(i, i + 100).map(async (a) => {
          const s = await rig.emailSubscribers.requestSubscription(a, [], { timeZone: 'UTC', digest: clockText(minute) });
          await rig.emailSubscribers.confirm(s.id, s.statusVersion);
        }),
      );
    }
    const id = await rig.publish({ title: 'Incendie dans le port', body: 'Le point du soir.', channels: ['email'] });
    await rig.delivered(id, 60_000);
    assert.equal(rig.smtp.messages.length, 1, 'the instant reader only');
    assert.deepEqual(rig.smtp.messages[0].to, [instant]);
    assert.ok(Date.now() < dueAt, 'set-up finished before the digest minute');

    rig.smtp.setReplyDelay(REPLY_DELAY_MS);
    const base = rig.smtp.messages.length;
    const killAfter = Math.floor(N / 3);
    await rig.smtp.waitFor(base + killAfter, dueAt - Date.now() + 60_000);
    first.kill('SIGKILL');
    await first.waitForExit(10_000);
    const atKill = rig.smtp.messages.length - base;
    t.diagnostic(`worker SIGKILLed after ${atKill} of ${N} digests`);
    assert.ok(atKill < N, `the digest was over before the kill (${atKill}); use more readers or a slower server`);

    await rig.worker();
    // Done when no digest job but the next minute's tick is left (the dead worker's batch comes
    // back once its lock expires, and runs on the new worker).
    const queue = new Queue<DigestJob>(DIGEST_QUEUE, { connection: rig.db, prefix: rig.keys.queuePrefix });
    try {
      await until(
        async () => {
          const open = await queue.getJobs(['active', 'waiting', 'prioritized', 'delayed', 'waiting-children']);
          return open.every((j) => j.data.kind === 'tick');
        },
        120_000,
        250,
      );
      assert.equal((await queue.getJobs(['failed'])).filter((j) => j.data.kind !== 'tick').length, 0, 'no digest job failed');
    } finally {
      await queue.close();
    }

    const per = new Map<string, number>();
    for (const m of rig.smtp.messages.slice(base)) for (const to of m.to) per.set(to, (per.get(to) ?? 0) + 1);
    const twice = [...per].filter(([, c]) => c > 1).map(([a]) => a);
    const none = readers.filter((a) => !per.has(a));
    // Who the dead process claimed and never settled: claimed, with no outcome bit in the run.
    const idOf = new Map(await Promise.all(readers.map(async (a) => [a, (await rig.emailSubscribers.idOf(a))!] as const)));
    const outcome = async (id: number) => {
      for (const kind of DIGEST_OUTCOMES) {
        if ((await rig.db.getbit(rig.keys.digestRunBits(dueAt, kind), id)) === 1) return kind;
      }
      return null;
    };
    const unsettled: string[] = [];
    for (const a of readers) {
      const claimed = (await rig.db.getbit(rig.keys.digestClaimed(date), idOf.get(a)!)) === 1;
      assert.ok(claimed, `${a}'s day is claimed`);
      if ((await outcome(idOf.get(a)!)) === null) unsettled.push(a);
    }
    const figures = await new DigestStore(rig.db, rig.keys, { maxGroups: 200 }).lastRun();
    t.diagnostic(
      `received ${per.size} of ${N} (${twice.length} twice), ${none.length} none; ${unsettled.length} claimed by the dead worker without an answer; run figures ${JSON.stringify(figures)}`,
    );

    assert.deepEqual(twice, [], 'nobody got the digest twice');
    for (const a of none) assert.ok(unsettled.includes(a), `${a} got no digest although the dead worker had not claimed them`);
    assert.ok(unsettled.length <= IN_FLIGHT, `${unsettled.length} readers left unsettled, more than the ${IN_FLIGHT} sends in flight`);
    assert.equal(per.size + none.length, N);
    assert.ok(figures);
    assert.equal(figures.targeted, N);
    assert.equal(figures.sent, N - unsettled.length, 'every settled reader was sent their digest');
    assert.equal(figures.pending, unsettled.length);
  },
);
