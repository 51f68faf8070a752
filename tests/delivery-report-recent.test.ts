// The newsroom's last days (GET /api/reports/recent): per alert the same figures as its own
// report, medians over them, a bounded read (`limit`, `truncated`), editors only. Also: the
// per-service time to 90 % comes from that service's own buckets, and Prometheus has the
// publish → accepted histogram per push service.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, editor, type Stack } from './support/stack';
import { seedPush } from './support/newsroom';
import type { DeliveryReport } from '../src/store/delivery-report';
import type { RecentReport } from '../src/store/recent-reports';

let s: Stack;
before(async () => {
  // Push subscriber 1 (the first seeded) is the newsroom's test phone.
  s = await startStack({ DELIVERY_TARGET_SECONDS: '2', PUSH_CONCURRENCY: '200', TEST_RECIPIENTS: '1' });
});
after(async () => {
  await s.stop();
});

async function get<T>(path: string): Promise<T> {
  const r = await s.api('GET', path, undefined, editor());
  assert.equal(r.status, 200, r.text);
  return r.json as unknown as T;
}

/** The middle value, or the mean of the two middle ones. */
function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const ids: string[] = [];

test('three alerts in the window: each row has its own report’s share within target, time to 90 % and CTR; the medians are over the rows; oldest first; test sends are left out', async () => {
  const subs = await seedPush(s, 40);
  const trial = await s.api('POST', '/api/alerts/test', { title: 'Essai', body: 'Texte', channels: ['push'] }, editor());
  assert.equal(trial.status, 202, trial.text);
  await s.delivered(String(trial.json.id), 30_000);
  // The second and third alerts have a quarter, then half, of their answers after the 2-second target.
  const lateShare = [0, 4, 2];
  for (const [n, every] of lateShare.entries()) {
    subs.forEach((b, i) => s.push.setBehaviour(b.id, { status: 201, delayMs: every > 0 && i % every === 0 ? 2600 : 0 }));
    const before = s.push.messages.length;
    const pub = await s.api('POST', '/api/alerts', { title: `Alerte ${n + 1}`, body: 'Texte', channels: ['push'] }, editor());
    assert.equal(pub.status, 202, pub.text);
    ids.push(String(pub.json.id));
    await s.delivered(ids[n], 30_000);
    // Clicks: 4 on the first alert, 1 on the second, none on the third.
    const receipts = s.push.messages.slice(before).map((m) => (m.json() as { receipt: string }).receipt);
    for (const receipt of receipts.slice(0, [4, 1, 0][n]))
      assert.equal((await s.api('POST', '/api/receipts', { receipt, event: 'clicked' })).status, 200);
  }
  const recent = await get<RecentReport>('/api/reports/recent?days=30');
  assert.equal(recent.days, 30);
  assert.equal(recent.targetSeconds, 2);
  assert.equal(recent.truncated, false);
  assert.deepEqual(
    recent.alerts.map((a) => a.id),
    ids,
    'oldest first',
  );
  for (const row of recent.alerts) {
    const r = await get<DeliveryReport>(`/api/alerts/${row.id}/report`);
    assert.deepEqual(row.push, {
      targeted: r.push.targeted,
      accepted: r.push.accepted,
      clicked: r.push.clicked,
      withinTarget: r.push.withinTarget,
      p90Ms: r.push.timing.p90Ms,
      ctr: r.push.clicked / r.push.accepted,
    });
    assert.equal(row.rev, r.rev);
    assert.equal(row.email.accepted, 0);
    assert.equal(row.email.ctr, null);
    assert.ok(!Number.isNaN(Date.parse(row.publishedAt)));
  }
  const [first, second, third] = recent.alerts;
  assert.equal(first.push.withinTarget, 1, 'every answer at once');
  assert.ok(second.push.withinTarget! < 1 && third.push.withinTarget! < second.push.withinTarget!);
  assert.deepEqual([first.push.ctr, second.push.ctr, third.push.ctr], [4 / 40, 1 / 40, 0]);
  assert.deepEqual(recent.medians.push, {
    withinTarget: second.push.withinTarget,
    p90Ms: median(recent.alerts.map((a) => a.push.p90Ms!)),
    ctr: 1 / 40,
    alerts: 3,
  });
  assert.deepEqual(recent.medians.email, { withinTarget: null, p90Ms: null, ctr: null, alerts: 0 });
});

test('the read is bounded: ?limit=2 keeps the two newest and says truncated; a window that starts later holds fewer', async () => {
  assert.equal(ids.length, 3, 'needs the first test');
  const two = await get<RecentReport>('/api/reports/recent?limit=2');
  assert.equal(two.limit, 2);
  assert.equal(two.truncated, true);
  assert.deepEqual(
    two.alerts.map((a) => a.id),
    ids.slice(1),
  );
  assert.equal(two.medians.push.alerts, 2);
  // Alerts older than the window are not read: move the first one back 40 days in the index.
  const { redis, keys } = s.app.domain;
  await redis.zadd(keys.alertIndex, Date.now() - 40 * 86_400_000, ids[0]);
  const month = await get<RecentReport>('/api/reports/recent');
  assert.equal(month.days, 30);
  assert.deepEqual(
    month.alerts.map((a) => a.id),
    ids.slice(1),
  );
});

test('editors only, and the window and the limit are bounded: 401 anonymous, 400 past 90 days or 500 alerts', async () => {
  const anon = await s.api('GET', '/api/reports/recent');
  assert.equal(anon.status, 401);
  assert.equal(anon.json.error.code, 'unauthorized');
  for (const q of ['days=0', 'days=365', 'days=trente', 'limit=0', 'limit=100000']) {
    const r = await s.api('GET', `/api/reports/recent?${q}`, undefined, editor());
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error.code, 'invalid_input', q);
  }
});

test('per push service, the time to 90 % comes from that service’s own buckets, not the revision’s; refusals are named « <status> <reason> »', async () => {
  const { progress, reports } = s.app.domain;
  const id = 'svcclock00000001';
  await progress.started(id, 1);
  await progress.recordMany(id, 1, 'push', 'sent', [1, 2, 3, 4, 5, 6, 7, 8, 9], { group: 'fcm' });
  // Over a second later: past any 100 ms or 1 s bucket the FCM answers fell in.
  await sleep(1100);
  await progress.recordMany(id, 1, 'push', 'sent', [10, 11, 12, 13, 14, 15, 16, 17, 18, 19], { group: 'apple' });
  await progress.recordMany(id, 1, 'push', 'failed', [20], { group: 'apple', detail: '403 BadJwtToken', reason: 'http 403' });
  await progress.recordMany(id, 1, 'push', 'expired', [21], { group: 'apple', detail: '410 Unregistered' });
  const r = await reports.read(id, 1);
  const { fcm, apple } = r.push.byService;
  assert.deepEqual([fcm.accepted, apple.accepted, apple.failed, apple.expired], [9, 10, 1, 1]);
  // Refusals are named as in the alert's own figures (GET /api/alerts/:id), not by the coarse reason.
  assert.deepEqual(apple.errors, { '403 BadJwtToken': 1, '410 Unregistered': 1 });
  assert.ok(fcm.p90Ms! < apple.p90Ms!, `fcm ${fcm.p90Ms} ms, apple ${apple.p90Ms} ms`);
  assert.equal(fcm.p90Ms, r.push.timing.firstMs, 'FCM answered first');
  assert.equal(apple.p90Ms, r.push.timing.p90Ms, 'the revision’s 90th percentile is among the Apple answers');
});

test('Prometheus: publish → accepted seconds per push service, as many observations as pushes accepted', async () => {
  const m = (await s.api('GET', '/metrics')).text;
  const count = (re: RegExp) => Number(re.exec(m)?.[1] ?? -1);
  const accepted = count(/^depeche_publish_to_delivery_seconds_count\{channel="push"\} (\d+)$/m);
  assert.equal(accepted, 121, 'three alerts to 40 readers and one test push');
  assert.equal(count(/^depeche_push_service_delivery_seconds_count\{service="other"\} (\d+)$/m), accepted);
  assert.match(m, /^depeche_push_service_delivery_seconds_bucket\{le="120",service="other"\} \d+$/m);
});
