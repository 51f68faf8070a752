// The delivery report end to end: a push service that answers after imposed delays, the
// report's percentiles read off the time buckets, receipts posted from the decrypted payloads,
// email article clicks through /r/<token>, and the CSV form.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Loose, type Stack } from './support/stack';
import { confirmEmail, seedPush } from './support/newsroom';
import { bucketWidth, type DeliveryReport } from '../src/store/delivery-report';

let s: Stack;
before(async () => {
  // Lanes for every delayed answer at once: the delays, not our concurrency, must set the times.
  s = await startStack({ PUSH_CONCURRENCY: '1000', PUSH_TIMEOUT_MS: '30000', DELIVERY_TARGET_SECONDS: '15' });
});
after(async () => {
  await s.stop();
});

const SUBSCRIBERS = 2000;
/**
 * Imposed answer delays: half at 8 s, 40 % at 11 s, 10 % at 20 s. Longer than it takes to send
 * them all on a busy machine, so the answers come back to an idle worker and what the report
 * measures is the push service's delay, not our CPU.
 */
const delayOf = (i: number) => (i % 10 === 0 ? 20_000 : i % 10 <= 4 ? 11_000 : 8_000);

async function report(id: string, query = ''): Promise<DeliveryReport> {
  const r = await s.api('GET', `/api/alerts/${id}/report${query}`, undefined, editor());
  assert.equal(r.status, 200, r.text);
  return r.json as unknown as DeliveryReport;
}

/** The q-quantile of sorted values, as the report defines it (the ceil(q·n)-th value). */
const quantile = (sorted: number[], q: number) => sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];

let alertId = '';
let withinTarget = 0;
let payloads: { receipt: string; subscriberId: string }[] = [];

test('2,000 pushes answered after 8 s, 11 s and 20 s: first, p50, p90, p99 and last are within one bucket of the imposed answer times', async (t) => {
  const subs = await seedPush(s, SUBSCRIBERS);
  subs.forEach((b, i) => s.push.setBehaviour(b.id, { status: 201, delayMs: delayOf(i) }));
  const delays = new Map(subs.map((b, i) => [b.id, delayOf(i)]));
  const pub = await s.api('POST', '/api/alerts', { title: 'Courbe de remise', body: 'Texte', channels: ['push'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  alertId = String(pub.json.id);
  await s.delivered(alertId, 60_000);

  const { redis, keys } = s.app.domain;
  const t0 = Number(await redis.hget(keys.alertState(alertId, 1), 't0'));
  assert.ok(t0 > 0, 'the first wave noted its start');
  // When each answer left the push service, relative to the first wave (same machine, same clock).
  const answered = s.push.messages.map((m) => m.receivedAt + delays.get(m.subscriberId)! - t0).sort((a, b) => a - b);
  assert.equal(answered.length, SUBSCRIBERS);

  const r = await report(alertId);
  assert.equal(r.push.targeted, SUBSCRIBERS);
  assert.equal(r.push.accepted, SUBSCRIBERS);
  assert.equal(r.targetSeconds, 15);
  const expected = {
    firstMs: answered[0],
    p50Ms: quantile(answered, 0.5),
    p90Ms: quantile(answered, 0.9),
    p99Ms: quantile(answered, 0.99),
    lastMs: answered.at(-1)!,
  };
  t.diagnostic(`answers at ${JSON.stringify(expected)}; report ${JSON.stringify(r.push.timing)}`);
  // A figure is its bucket's upper edge: never before the answer, at most one bucket after it
  // (plus the few milliseconds from the answer to its group's write in Redis).
  for (const [name, want] of Object.entries(expected)) {
    const got = r.push.timing[name as keyof typeof expected]!;
    if (!(got >= want - 2 && got <= want + bucketWidth(want) + 250)) assert.fail(`${name}: report ${got} ms, answers at ${want} ms`);
  }
  assert.ok(r.push.timing.p50Ms! >= 8000 && r.push.timing.p90Ms! >= 11_000 && r.push.timing.p99Ms! >= 20_000);
  // Within the 15-second target: the answers whose bucket ended by then (± the few on an edge).
  const inTime = answered.filter((ms) => Math.floor(ms / bucketWidth(ms)) * bucketWidth(ms) + bucketWidth(ms) <= 15_000).length;
  assert.ok(
    Math.abs(r.push.withinTarget! - inTime / SUBSCRIBERS) <= 0.01,
    `withinTarget ${r.push.withinTarget}, answers ${inTime / SUBSCRIBERS}`,
  );
  assert.ok(r.push.withinTarget! <= 0.9, 'the 20-second tenth is late');
  withinTarget = r.push.withinTarget!;
  // The curve: cumulative, monotone, a few hundred points at most, ending at everyone.
  assert.ok(r.push.curve.length <= 300 && r.push.curve.length > 3);
  for (let i = 1; i < r.push.curve.length; i++) {
    assert.ok(r.push.curve[i].ms > r.push.curve[i - 1].ms);
    assert.ok(r.push.curve[i].accepted >= r.push.curve[i - 1].accepted);
  }
  assert.equal(r.push.curve.at(-1)!.accepted, SUBSCRIBERS);
  // The local push service is none of the big four.
  assert.deepEqual(Object.keys(r.push.byService), ['other']);
  assert.equal(r.push.byService.other.accepted, SUBSCRIBERS);
  assert.equal(r.push.byService.other.p90Ms, r.push.timing.p90Ms);

  payloads = s.push.messages.map((m) => ({ subscriberId: m.subscriberId, ...(m.json() as { receipt: string }) }));
  // ~40 characters: alert id, revision, subscriber id, 80 bits of MAC.
  assert.ok(payloads.every((p) => /^[a-z0-9]+\.[0-9a-z]+\.[0-9a-z]+\.[\w-]{14}$/.test(p.receipt) && p.receipt.length <= 45));
});

test('receipts posted from the decrypted payloads count once each; clicks count once and never exceed receipts', async () => {
  assert.ok(alertId, 'needs the first test');
  const some = payloads.slice(0, 300);
  const post = (receipt: string, event: string, type = 'application/json') =>
    s.api('POST', '/api/receipts', JSON.stringify({ receipt, event }), { 'content-type': type });
  for (let i = 0; i < some.length; i += 50) {
    const answers = await Promise.all(some.slice(i, i + 50).map((p) => post(p.receipt, 'received')));
    for (const a of answers) assert.deepEqual([a.status, a.json.counted], [200, true]);
  }
  // Again, and as a beacon would send it (text/plain): nothing more counts.
  const again = await Promise.all(some.slice(0, 20).map((p) => post(p.receipt, 'received', 'text/plain;charset=UTF-8')));
  for (const a of again) assert.deepEqual([a.status, a.json.counted], [200, false]);
  // Ten clicks, twice each; one click from a reader whose receipt never came counts both.
  const clickers = [...payloads.slice(0, 10), payloads[1000]];
  for (const p of [...clickers, ...clickers]) assert.equal((await post(p.receipt, 'clicked')).status, 200);
  const r = await report(alertId);
  assert.equal(r.push.received, 301);
  assert.equal(r.push.clicked, 11);
  assert.ok(r.push.clicked <= r.push.received && r.push.received <= r.push.accepted);
  assert.equal(r.push.curve.at(-1)!.received, 301);
  // The alert view and the list show the same figures.
  const view = await s.alert(alertId);
  assert.equal(view.report?.push.clicked, 11);
  assert.equal(view.report?.push.ctr, 11 / SUBSCRIBERS);
  assert.equal(view.report?.push.withinTarget, withinTarget);
  const metrics = await s.api('GET', '/metrics');
  assert.match(metrics.text, /depeche_reader_events_total\{channel="push",event="received"\} 301/);
  assert.match(metrics.text, /depeche_reader_events_total\{channel="push",event="clicked"\} 11/);
});

test('?format=csv gives the same figures as a table; ?rev= names a revision; an unknown revision is 404', async () => {
  assert.ok(alertId, 'needs the first test');
  const csv = await s.api('GET', `/api/alerts/${alertId}/report?format=csv`, undefined, editor());
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/, String(csv.headers.get('content-type')));
  assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="?remise-/);
  const rows = csv.text.trim().split('\r\n');
  assert.equal(rows[0], 'channel,figure,ms,value');
  const r = await report(alertId, '?rev=1');
  assert.ok(rows.includes(`push,accepted,,${SUBSCRIBERS}`));
  assert.ok(rows.includes(`push,p90Ms,,${r.push.timing.p90Ms}`));
  assert.ok(rows.includes(`push,withinTarget,,${withinTarget}`));
  assert.equal(rows.filter((l) => l.startsWith('push,curve_accepted,')).length, r.push.curve.length);
  const missing = await s.api('GET', `/api/alerts/${alertId}/report?rev=9`, undefined, editor());
  assert.equal(missing.status, 404);
  assert.equal((await s.api('GET', `/api/alerts/${alertId}/report`)).status, 401);
});

test("an email's article link redirects to the alert's URL and counts one click per subscriber, however often it is followed", async () => {
  await confirmEmail(s, 'lectrice@exemple.fr');
  const before = s.smtp.messages.length;
  const url = 'https://www.exemple.fr/article/remise?x=1&y=2';
  const pub = await s.api('POST', '/api/alerts', { title: 'Par courriel', body: 'Texte', url, channels: ['email'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  const id = String(pub.json.id);
  await s.delivered(id, 20_000);
  await s.smtp.waitFor(before + 1, 5000);
  const mail = s.smtp.messages.at(-1)!;
  const links = [...mail.text.matchAll(/https:\/\/alertes\.example\.fr(\/r\/[\w.-]+)/g)].map((m) => m[1]);
  assert.equal(links.length, 1, 'the text part links through /r/');
  assert.ok(mail.html.includes(`https://alertes.example.fr${links[0]}`), 'the button too');
  assert.ok(!mail.text.includes(url) && !mail.html.includes('exemple.fr/article'), 'never the article directly');
  for (let i = 0; i < 3; i++) {
    const r = await s.api('GET', links[0]);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), url);
  }
  const rep = await until(async () => {
    const r = await report(id);
    return r.email.clicked === 1 ? r : null;
  });
  assert.equal(rep.email.accepted, 1);
  assert.equal(rep.email.timing.p50Ms !== null, true);
  const view = (await s.alert(id)) as unknown as Loose;
  assert.equal(Number(view.report?.email?.ctr), 1);
});
