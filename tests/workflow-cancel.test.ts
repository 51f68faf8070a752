// The kill switch, during a 10,000-recipient fan-out: once the cancel is acknowledged, the push
// service accepts at most one more push per delivery lane (what was already decided or on the
// wire), the alert ends `cancelled` with exact counts, and resume reaches everyone else with zero
// duplicates. How fast the cancel takes effect is a speed budget: `npm run bench:latency` measures it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack, pushCounts } from './support/stack';
import { pushesOf, seedPush, sleep, items } from './support/newsroom';
import { fanoutJobId, firstWave } from '../src/pipeline/fanout';

const N = 10_000;
let s: Stack;

before(async () => {
  // Fewer requests on the wire at once: what is in flight when the cancel lands drains faster on
  // this shared 2-core machine, where the push service decrypting them runs in the same process.
  s = await startStack({ PUSH_CONCURRENCY: '32' });
  await seedPush(s, N);
});
after(async () => {
  await s.stop();
});

test(`cancel during a ${N.toLocaleString('en')}-recipient fan-out, then resume with zero duplicates`, async (t) => {
  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Attaque à Kiev : bilan provisoire', body: 'Au moins dix morts.', channels: ['push'] },
    editor(),
  );
  assert.equal(pub.status, 202);
  const id = String(pub.json.id);
  await until(async () => pushesOf(s, id).length >= 1500, 30_000, 10);

  const t0 = Date.now();
  const cancel = await s.api('POST', `/api/alerts/${id}/cancel`, undefined, editor());
  const acknowledgedAt = Date.now();
  assert.equal(cancel.status, 200, cancel.text);
  assert.equal(String(cancel.json.status), 'cancelled');
  // Sending is over when no push request is open and no delivery batch is running (the queued
  // ones were removed, checked below): from then on nothing can reach the push service.
  await until(async () => s.push.inFlight === 0 && (await s.app.queues.push.getActiveCount()) === 0, 30_000, 20);
  const stopped = pushesOf(s, id);
  // The push service's own receipt times against the acknowledgment: each lane may have one
  // request decided before the cancel landed; nothing else may arrive after it.
  const lanes = s.config.push.concurrency * s.config.delivery.workerConcurrency;
  const late = stopped.filter((p) => p.receivedAt > acknowledgedAt).length;
  const last = Math.max(...stopped.map((p) => p.receivedAt));
  t.diagnostic(
    `cancel answered in ${acknowledgedAt - t0} ms; last push ${last - t0} ms after the call; ${stopped.length} of ${N} sent; ${late} accepted after the acknowledgment (at most ${lanes} lanes)`,
  );
  assert.ok(late <= lanes, `${late} pushes accepted after the cancel was acknowledged, more than the ${lanes} lanes`);
  assert.ok(stopped.length < N, 'the cancel came before the end');

  const view = await s.alert(id);
  assert.equal(view.status, 'cancelled');
  assert.equal(view.delivery.push.targeted, N);
  assert.equal(view.delivery.push.sent, stopped.length, 'counts are exact');
  assert.equal(view.pending.push, N - stopped.length);
  assert.equal(new Set(stopped.map((p) => p.subscriberId)).size, stopped.length);
  const queued = await s.app.queues.push.getJobCounts('waiting', 'delayed', 'prioritized');
  assert.deepEqual(queued, { waiting: 0, delayed: 0, prioritized: 0 }, 'queued batches were removed');

  assert.equal((await s.api('POST', `/api/alerts/${id}/cancel`, undefined, editor())).status, 409);
  const resume = await s.api('POST', `/api/alerts/${id}/resume`, undefined, editor());
  assert.equal(resume.status, 202, resume.text);
  const done = await s.delivered(id, 60_000);
  const all = pushesOf(s, id);
  assert.equal(all.length, N);
  assert.equal(new Set(all.map((p) => p.subscriberId)).size, N, 'zero duplicates');
  assert.deepEqual(pushCounts(done.delivery.push), { targeted: N, sent: N, failed: 0, expired: 0, clicked: 0 });
  assert.deepEqual(done.pending, { push: 0, email: 0 });
  const log = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor());
  assert.deepEqual(
    items(log.json.entries).map((e) => String(e.action)),
    ['resume', 'cancel', 'publish'],
  );
});

test('a cancelled scheduled alert is never sent; resume and cancel answer 404 for unknown alerts', async () => {
  const atMs = Date.now() + 5000;
  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Programmée puis annulée', channels: ['push'], publishAt: new Date(atMs).toISOString() },
    editor(),
  );
  const id = String(pub.json.id);
  assert.equal(String(pub.json.status), 'scheduled');
  const wave = fanoutJobId(id, 1, firstWave(0));
  assert.equal(await (await s.app.queues.fanout.getJob(wave))?.getState(), 'delayed');
  assert.equal((await s.api('POST', `/api/alerts/${id}/cancel`, undefined, editor())).status, 200);
  // The cancel took the delayed wave out of the queue: nothing is left that could send it...
  assert.equal(await s.app.queues.fanout.getJob(wave), undefined);
  // ...and once its moment has passed, nothing was sent.
  await sleep(atMs + 1000 - Date.now());
  assert.equal(pushesOf(s, id).length, 0);
  assert.equal((await s.alert(id)).status, 'cancelled');
  assert.equal((await s.api('POST', '/api/alerts/zzzzzzzzzzzz/cancel', undefined, editor())).status, 404);
  assert.equal((await s.api('POST', '/api/alerts/zzzzzzzzzzzz/resume', undefined, editor())).status, 404);
});
