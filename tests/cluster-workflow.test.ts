// The newsroom workflow on a real 3-master Redis Cluster: corrections BITOP the earlier revisions'
// bitmaps, quiet hours OR group bitmaps, the kill switch reads and bumps a per-alert hash, the
// revision transitions run Lua over one alert's keys — all within one hash tag each. The
// revision, quiet-hours and bypass scenarios are those of the single-Redis files, imported after
// the switch; the kill switch has its own, smaller one below (the single-Redis one fans out to
// 10,000, too many for three masters on a shared 2-core machine).
import './support/on-cluster';
import './workflow-revisions.test';
import './workflow-quiet.test';
import './revision-state.test';
import './workflow-bypass.test';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack, pushCounts } from './support/stack';
import { items, pushesOf, seedPush } from './support/newsroom';

const N = 2000;
let s: Stack;
before(async () => {
  // Few requests at once and small batches: the fan-out lasts long enough to be cut in the middle.
  s = await startStack({ PUSH_CONCURRENCY: '4', BATCH_SIZE: '64' });
  await seedPush(s, N);
});
after(async () => {
  await s.stop();
});

test(`kill switch on a cluster: cancel in the middle of a ${N.toLocaleString('en')}-recipient fan-out stops it (at most one push per lane after the acknowledgment), resume reaches the rest with zero duplicates`, async () => {
  const pub = await s.api('POST', '/api/alerts', { title: 'Coupure générale', channels: ['push'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  const id = String(pub.json.id);
  await until(async () => pushesOf(s, id).length >= 100, 30_000, 10);

  const cancel = await s.api('POST', `/api/alerts/${id}/cancel`, undefined, editor());
  const acknowledgedAt = Date.now();
  assert.equal(cancel.status, 200, cancel.text);
  await until(async () => s.push.inFlight === 0 && (await s.app.queues.push.getActiveCount()) === 0, 30_000, 20);
  const stopped = pushesOf(s, id);
  const lanes = s.config.push.concurrency * s.config.delivery.workerConcurrency;
  assert.ok(stopped.filter((p) => p.receivedAt > acknowledgedAt).length <= lanes);
  assert.ok(stopped.length < N, 'the cancel came before the end');
  const view = await s.alert(id);
  assert.equal(view.status, 'cancelled');
  assert.equal(view.delivery.push.sent, stopped.length, 'counts are exact');

  const resume = await s.api('POST', `/api/alerts/${id}/resume`, undefined, editor());
  assert.equal(resume.status, 202, resume.text);
  const done = await s.delivered(id, 60_000);
  const all = pushesOf(s, id);
  assert.equal(all.length, N);
  assert.equal(new Set(all.map((p) => p.subscriberId)).size, N, 'zero duplicates');
  assert.deepEqual(pushCounts(done.delivery.push), { targeted: N, sent: N, failed: 0, expired: 0, clicked: 0 });
  const log = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor());
  assert.deepEqual(
    items(log.json.entries).map((e) => String(e.action)),
    ['resume', 'cancel', 'publish'],
  );
});
