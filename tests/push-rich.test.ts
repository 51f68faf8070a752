// Rich notifications: an alert's optional image and the two actions « Lire » and « Réglages »
// reach the browser in the plain payload and in Apple's declarative one (where each action says
// where it leads), within the payload budget, and the console's preview shows them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, type Stack } from './support/stack';
import { LOOPBACK_WILDCARD_DOMAIN } from './support/localhost-names';
import type { TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';
import { KEY_HINT_LENGTH } from '../src/push/payload';

const host = (role: string) => `${role}.${LOOPBACK_WILDCARD_DOMAIN}`;
const IMAGE = 'https://images.exemple.fr/2026/11/seisme.jpg';
const ACTIONS = [
  { action: 'lire', title: 'Lire' },
  { action: 'reglages', title: 'Réglages' },
];

let s: Stack;
before(async () => {
  s = await startStack(
    {},
    { api: true, worker: true },
    { extraPushOrigins: (origin) => [`https://${host('apple')}:${new URL(origin).port}=apple`] },
  );
  await ensureTopics(s, ['riche', 'riche-long']);
});
after(async () => {
  await s.stop();
});

async function subscribe(apple: boolean, topic = 'riche'): Promise<TestSubscriber> {
  const b = s.push.newSubscriber(apple ? { host: host('apple') } : {});
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: [topic] });
  assert.equal(r.status, 201, r.text);
  return b;
}

const payloadFor = (sub: TestSubscriber, id: string) =>
  s.push.messages.find((m) => m.subscriberId === sub.id && (m.json() as { id?: string }).id === id)!;

test('the plain payload carries the image, the two actions and the start of our current key; the declarative one puts them in its notification', async () => {
  const plain = await subscribe(false);
  const apple = await subscribe(true);
  // A body long enough that it must give way: the image's room is taken from the body, never from the limit.
  const r = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Séisme', body: 'é'.repeat(2000), url: 'https://www.exemple.fr/seisme', image: IMAGE, topics: ['riche'], channels: ['push'] },
    editor(),
  );
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  const view = await s.delivered(id, 15_000);
  assert.equal(view.delivery.push.sent, 2);
  assert.equal((view as unknown as { image?: string }).image, IMAGE, 'GET /api/alerts/:id shows the image');

  const m = payloadFor(plain, id);
  assert.ok(Buffer.byteLength(m.payload) <= 3993, 'within the plaintext budget');
  const p = m.json() as Record<string, unknown>;
  assert.equal(p.image, IMAGE);
  assert.deepEqual(p.actions, ACTIONS);
  assert.equal(p.key, s.app.domain.secrets.vapid.publicKey.slice(0, KEY_HINT_LENGTH));
  assert.match(String(p.body), /…$/);

  const dm = payloadFor(apple, id);
  assert.ok(Buffer.byteLength(dm.payload) <= 3993, 'the declarative shape within the budget too');
  const d = dm.json() as Record<string, unknown> & { notification: Record<string, unknown> };
  assert.equal(d.web_push, 8030);
  assert.equal(d.notification.image, IMAGE);
  assert.deepEqual(d.notification.actions, [
    { action: 'lire', title: 'Lire', navigate: 'https://www.exemple.fr/seisme' },
    { action: 'reglages', title: 'Réglages', navigate: 'https://alertes.example.fr/alertes' },
  ]);
  assert.equal(d.image, undefined, 'carried once, inside the notification');
  assert.equal(d.id, id);
});

test('an update keeps the image unless it brings its own; a correction keeps it', async () => {
  const r = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Crue', body: 'La Seine monte', image: IMAGE, channels: ['push'], topics: ['riche'] },
    editor(),
  );
  const id = String(r.json.id);
  await s.delivered(id, 15_000);
  const other = 'https://images.exemple.fr/2026/11/crue-2.jpg';
  assert.equal((await s.api('POST', `/api/alerts/${id}/updates`, { body: 'Elle monte encore' }, editor())).status, 202);
  assert.equal((await s.alert(id)).image, IMAGE);
  assert.equal((await s.api('POST', `/api/alerts/${id}/updates`, { body: 'Décrue', image: other }, editor())).status, 202);
  assert.equal((await s.alert(id)).image, other);
  assert.equal((await s.api('POST', `/api/alerts/${id}/corrections`, { title: 'Crue', body: 'Rectificatif' }, editor())).status, 202);
  assert.equal((await s.alert(id)).image, other);
});

test("the console's preview payload shows the image and the actions, and the byte count includes the image", async () => {
  const draft = { title: 'Séisme', body: 'Texte', topics: [], channels: ['push'] };
  const without = await s.api('POST', '/api/preview', draft, editor());
  const withImage = await s.api('POST', '/api/preview', { ...draft, image: IMAGE }, editor());
  assert.equal(withImage.status, 200, withImage.text);
  const push = withImage.json.push as unknown as { payload: Record<string, unknown>; bytes: number };
  assert.equal(push.payload.image, IMAGE);
  assert.deepEqual(push.payload.actions, ACTIONS);
  const before = (without.json.push as unknown as { bytes: number }).bytes;
  assert.ok(push.bytes >= before + IMAGE.length, `${push.bytes} bytes with the image, ${before} without`);
});

test('an alert whose long URL leaves no room for the declarative buttons still goes out to apple, its notification without them', async () => {
  const plain = await subscribe(false, 'riche-long');
  const apple = await subscribe(true, 'riche-long');
  const url = 'https://www.exemple.fr/monde/' + 'karabakh-'.repeat(150);
  const r = await s.api(
    'POST',
    '/api/alerts',
    { title: '« Cessez-le-feu » au Haut-Karabakh 🕊️', body: 'Texte', url, topics: ['riche-long'], channels: ['push'] },
    editor(),
  );
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  assert.equal((await s.delivered(id, 15_000)).delivery.push.sent, 2);
  const d = payloadFor(apple, id).json() as { notification: Record<string, unknown> };
  assert.equal(d.notification.navigate, url, 'a tap still opens the article');
  assert.equal(d.notification.actions, undefined);
  assert.ok(Buffer.byteLength(payloadFor(apple, id).payload) <= 3993);
  assert.deepEqual((payloadFor(plain, id).json() as { actions: unknown }).actions, ACTIONS, 'the plain payload keeps them');
});
