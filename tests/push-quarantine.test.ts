// Quarantine: a subscription that its push service refuses with the same non-auth 4xx on 5 alerts
// in a row, over at least 3 days, is no longer sent to, counted per service, listed for editors
// and restorable; a delivery in between starts the count again; 401/403 (our fault) never count.
// The local push service plays Apple (its JSON reasons). Days pass on the quarantine's clock
// (PushQuarantine.now), which the test moves forward instead of waiting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, type Stack } from './support/stack';
import { LOOPBACK_WILDCARD_DOMAIN } from './support/localhost-names';
import type { BehaviourSetting, TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';
import { items } from './support/newsroom';

const DAY = 86_400_000;
const host = (role: string) => `${role}.${LOOPBACK_WILDCARD_DOMAIN}`;
const refused: BehaviourSetting = { status: 400, body: JSON.stringify({ reason: 'BadWebPushTopic' }) };

let s: Stack;
let start: number;
before(async () => {
  s = await startStack(
    { PUSH_TIMEOUT_MS: '2000', PUSH_RETRY_DELAY_MS: '50', PUSH_RETRY_MAX_DELAY_MS: '200' },
    { api: true, worker: true },
    { extraPushOrigins: (origin) => [`https://${host('apple')}:${new URL(origin).port}=apple`] },
  );
  start = Date.now();
});
after(async () => {
  await s.stop();
});

/** Moves the quarantine's clock to `day` days after the start of the file. */
const onDay = (day: number) => {
  s.app.domain.pushQuarantine.now = () => start + day * DAY;
};

async function subscribe(topic: string, behaviour: BehaviourSetting): Promise<TestSubscriber & { dpId: number }> {
  const b = s.push.newSubscriber({ host: host('apple') });
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: [topic] });
  assert.equal(r.status, 201, r.text);
  s.push.setBehaviour(b.id, behaviour);
  return { ...b, dpId: Number(r.json.id) };
}

async function publish(topic: string, n: number) {
  const r = await s.api(
    'POST',
    '/api/alerts',
    { title: `Alerte ${topic} ${n}`, body: 'Texte', topics: [topic], channels: ['push'] },
    editor(),
  );
  assert.equal(r.status, 202, r.text);
  return s.delivered(String(r.json.id), 15_000);
}

const quarantined = async () => (await s.app.domain.pushQuarantine.quarantinedIds()).sort((a, b) => a - b);

test('five refusals on one day do not quarantine; the same 400 again on the third day does: not sent to, counted per service, listed, restorable; 403 and 413 never count', async () => {
  const topic = 'quarantaine';
  await ensureTopics(s, [topic]);
  const bad = await subscribe(topic, refused);
  // Our own fault (a refused JWT) is never the reader's: it must not lead to quarantine.
  const ours = await subscribe(topic, { status: 403, body: JSON.stringify({ reason: 'BadJwtToken' }) });
  // Too large is our payload's fault, not the reader's: it never counts either.
  const tooLarge = await subscribe(topic, { status: 413 });
  const good = await subscribe(topic, null);

  onDay(0);
  for (let n = 1; n <= 5; n++) await publish(topic, n);
  assert.deepEqual(await s.app.domain.pushQuarantine.strikesOf(bad.dpId), { count: 5, firstDay: Math.floor(start / DAY), status: 400 });
  assert.deepEqual(await quarantined(), [], 'five refusals within one day: not yet');

  onDay(2);
  const sixth = await publish(topic, 6);
  assert.equal(sixth.delivery.push.byService.apple.quarantined, 1, JSON.stringify(sixth.delivery.push.byService));
  assert.equal(sixth.delivery.push.byService.apple.errors['400 BadWebPushTopic'], 1);
  assert.deepEqual(await quarantined(), [bad.dpId], 'the 403 subscriber is not quarantined');
  assert.equal(await s.app.domain.pushQuarantine.strikesOf(ours.dpId), null, '401/403 never count');
  assert.equal(await s.app.domain.pushQuarantine.strikesOf(tooLarge.dpId), null, '413 never counts');

  const metrics = (await s.api('GET', '/metrics')).text;
  assert.match(metrics, /^depeche_push_quarantined_total\{service="apple"\} 1$/m);
  const keys = await s.api('GET', '/api/push/keys', undefined, editor());
  assert.equal(keys.json.quarantined, 1);
  const list = await s.api('GET', '/api/push/quarantine', undefined, editor());
  assert.equal(list.status, 200);
  assert.equal(list.json.count, 1);
  assert.deepEqual(
    items(list.json.subscribers).map((x) => [String(x.id), String(x.service)]),
    [[String(bad.dpId), 'apple']],
  );
  assert.equal((await s.api('GET', '/api/push/quarantine')).status, 401);

  // Quarantined: the next alert does not even ask its push service.
  const asked = s.push.rejections.filter((x) => x.subscriberId === bad.id).length;
  const seventh = await publish(topic, 7);
  assert.equal(seventh.delivery.push.targeted, 3);
  assert.equal(s.push.rejections.filter((x) => x.subscriberId === bad.id).length, asked);

  // Restored by an editor, and its push service works again: it gets the next alert.
  assert.equal((await s.api('POST', `/api/push/quarantine/${bad.dpId}/restore`, undefined, editor())).status, 204);
  assert.equal((await s.api('POST', `/api/push/quarantine/${bad.dpId}/restore`, undefined, editor())).status, 404);
  assert.equal((await s.api('POST', `/api/push/quarantine/${good.dpId}/restore`, undefined, editor())).status, 404);
  assert.deepEqual(await quarantined(), []);
  s.push.setBehaviour(bad.id, null);
  const eighth = await publish(topic, 8);
  assert.equal(eighth.delivery.push.targeted, 4);
  assert.ok(s.push.messages.some((m) => m.subscriberId === bad.id && (m.json() as { id: string }).id === eighth.id));
});

test('a delivery between refusals starts the count again: four refusals, a success, four more over a week is no quarantine', async () => {
  const topic = 'intermittent';
  await ensureTopics(s, [topic]);
  const flaky = await subscribe(topic, { sequence: [refused, refused, refused, refused, null, refused] });
  for (let n = 1; n <= 4; n++) {
    onDay(10 + n);
    await publish(topic, n);
  }
  assert.equal((await s.app.domain.pushQuarantine.strikesOf(flaky.dpId))?.count, 4);
  await publish(topic, 5);
  assert.equal(await s.app.domain.pushQuarantine.strikesOf(flaky.dpId), null, 'the success cleared the strikes');
  for (let n = 6; n <= 9; n++) {
    onDay(10 + n);
    await publish(topic, n);
  }
  assert.equal((await s.app.domain.pushQuarantine.strikesOf(flaky.dpId))?.count, 4);
  assert.ok(!(await quarantined()).includes(flaky.dpId));
});

test('only the same refusal again counts: four 400s then a 406 start the count over at one', async () => {
  const topic = 'changeant';
  await ensureTopics(s, [topic]);
  const other: BehaviourSetting = { status: 406 };
  const sub = await subscribe(topic, { sequence: [refused, refused, refused, refused, other] });
  for (let n = 1; n <= 5; n++) {
    onDay(30 + n);
    await publish(topic, n);
  }
  assert.deepEqual(await s.app.domain.pushQuarantine.strikesOf(sub.dpId), {
    count: 1,
    firstDay: Math.floor(start / DAY) + 35,
    status: 406,
  });
  assert.ok(!(await quarantined()).includes(sub.dpId));
});
