// One-call replacement of a browser's subscription (`POST /api/subscriptions/push` with
// `replaces: {endpoint, auth}`): what a service worker sends after re-subscribing with our new
// VAPID key, or when the push service renewed its subscription. The old endpoint is forgotten,
// the new one gets the next alert, the reader's topics and quiet hours are kept; without the old
// subscription's auth secret nothing changes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startStack, editor, type Stack } from './support/stack';
import { ensureTopics } from './support/topics';
import type { TestSubscriber } from './support/push-service';

let s: Stack;
before(async () => {
  s = await startStack();
  await ensureTopics(s, ['sport', 'culture']);
});
after(async () => {
  await s.stop();
});

const body = (b: TestSubscriber, extra: Record<string, unknown> = {}) => ({
  subscription: { endpoint: b.endpoint, keys: b.keys },
  ...extra,
});

/** A zone where it is about noon now: the 22:00-08:00 window must not hold the test's alerts. */
function noonZone(): string {
  let off = 12 - new Date().getUTCHours();
  if (off > 12) off -= 24;
  if (off < -11) off += 24;
  return off >= 0 ? `Etc/GMT-${off}` : `Etc/GMT+${-off}`;
}

async function publish(topic: string, title: string): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { title, body: 'Texte', topics: [topic], channels: ['push'] }, editor());
  assert.equal(r.status, 202, r.text);
  await s.delivered(String(r.json.id), 15_000);
  return String(r.json.id);
}

test('a replacement proven by the old auth swaps the endpoints in one call: old gone, new gets the next alert, topics and quiet hours kept', async () => {
  const old = s.push.newSubscriber();
  const first = await s.api(
    'POST',
    '/api/subscriptions/push',
    body(old, { topics: ['sport'], timeZone: noonZone(), quietHours: '22:00-08:00' }),
  );
  assert.equal(first.status, 201, first.text);
  const oldId = Number(first.json.id);
  const quietGroup = await s.app.domain.quiet.groupOf('push', oldId);
  assert.notEqual(quietGroup, null);

  const next = s.push.newSubscriber();
  // The worker sends no topics of its own here: the ones we hold are carried over.
  const r = await s.api('POST', '/api/subscriptions/push', body(next, { replaces: { endpoint: old.endpoint, auth: old.keys.auth } }));
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.replaced, true);
  const newId = Number(r.json.id);
  assert.notEqual(newId, oldId);
  assert.equal(await s.app.domain.pushSubscribers.findId(old.endpoint), null, 'the old endpoint is forgotten');
  assert.equal(await s.app.domain.pushSubscribers.get(oldId), null);
  assert.equal(await s.app.domain.pushSubscribers.findId(next.endpoint), newId);
  assert.equal(await s.app.domain.quiet.groupOf('push', newId), quietGroup, 'the same quiet-hours group');
  assert.equal(await s.app.domain.quiet.groupOf('push', oldId), null);

  const id = await publish('sport', 'Victoire');
  const got = s.push.messages.filter((m) => (m.json() as { id: string }).id === id);
  assert.deepEqual(
    got.map((m) => m.subscriberId),
    [next.id],
    'the sport alert reaches the new endpoint only',
  );
  const culture = await publish('culture', 'Vernissage');
  assert.equal(s.push.messages.filter((m) => (m.json() as { id: string }).id === culture).length, 0, 'topics kept: no culture alert');
});

test('a replacement with the wrong auth is refused with 403 and changes nothing; an unknown old endpoint is a plain subscribe', async () => {
  const old = s.push.newSubscriber();
  const first = await s.api('POST', '/api/subscriptions/push', body(old, { topics: ['culture'] }));
  const oldId = Number(first.json.id);
  const intruder = s.push.newSubscriber();
  const r = await s.api(
    'POST',
    '/api/subscriptions/push',
    body(intruder, { replaces: { endpoint: old.endpoint, auth: randomBytes(16).toString('base64url') } }),
  );
  assert.equal(r.status, 403, r.text);
  assert.equal(String(r.json.error.code), 'replacement_refused');
  assert.equal(await s.app.domain.pushSubscribers.findId(old.endpoint), oldId, 'the old subscription stays');
  assert.equal(await s.app.domain.pushSubscribers.findId(intruder.endpoint), null, 'the new one was not stored');
  const id = await publish('culture', 'Exposition');
  assert.ok(s.push.messages.some((m) => m.subscriberId === old.id && (m.json() as { id: string }).id === id));

  const gone = s.push.newSubscriber();
  const fresh = s.push.newSubscriber();
  const plain = await s.api(
    'POST',
    '/api/subscriptions/push',
    body(fresh, { topics: ['sport'], replaces: { endpoint: gone.endpoint, auth: gone.keys.auth } }),
  );
  assert.equal(plain.status, 201, plain.text);
  assert.equal(plain.json.replaced, false);
  assert.equal(await s.app.domain.pushSubscribers.findId(fresh.endpoint), Number(plain.json.id));
});
