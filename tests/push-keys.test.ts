// VAPID key rotation end to end: the service signs with its new key and keeps the old one
// (VAPID_PREVIOUS_KEYS) for the subscriptions made with it. The local push service checks each
// JWT against the key its subscription was made with, as the real services do, and refuses a
// mismatch; both readers must receive and decrypt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import webpush from 'web-push';
import { startStack, editor, type Stack } from './support/stack';
import { ensureTopics } from './support/topics';
import { fingerprint } from '../src/secrets';

const oldKey = webpush.generateVAPIDKeys();
const newKey = webpush.generateVAPIDKeys();
let s: Stack;
before(async () => {
  s = await startStack({
    VAPID_PUBLIC_KEY: newKey.publicKey,
    VAPID_PRIVATE_KEY: newKey.privateKey,
    VAPID_PREVIOUS_KEYS: `${oldKey.publicKey}:${oldKey.privateKey}`,
  });
});
after(async () => {
  await s.stop();
});

test('after a key rotation, readers on the old key and on the new one both receive and decrypt; /api/push/keys counts them', async () => {
  await ensureTopics(s, ['rotation']);
  const onOld = s.push.newSubscriber({ applicationServerKey: oldKey.publicKey });
  const onNew = s.push.newSubscriber({ applicationServerKey: newKey.publicKey });
  const unsaid = s.push.newSubscriber({ applicationServerKey: newKey.publicKey });
  const post = (sub: typeof onOld, key?: string) =>
    s.api('POST', '/api/subscriptions/push', {
      subscription: { endpoint: sub.endpoint, keys: sub.keys },
      topics: ['rotation'],
      ...(key ? { applicationServerKey: key } : {}),
    });
  assert.equal((await post(onOld, oldKey.publicKey)).status, 201);
  assert.equal((await post(onNew, newKey.publicKey)).status, 201);
  // No key said: the current one.
  assert.equal((await post(unsaid)).status, 201);
  // Resent at a later visit without the key: the recorded key stays.
  assert.equal((await post(onOld)).status, 201);

  const r = await s.api('POST', '/api/alerts', { title: 'Rotation', body: 'Texte', topics: ['rotation'], channels: ['push'] }, editor());
  assert.equal(r.status, 202, r.text);
  const view = await s.delivered(String(r.json.id), 15_000);
  assert.equal(view.delivery.push.sent, 3, JSON.stringify(s.push.rejections));
  for (const sub of [onOld, onNew, unsaid]) {
    const got = s.push.messages.filter((m) => m.subscriberId === sub.id);
    assert.equal(got.length, 1);
    assert.equal((got[0].json() as { title: string }).title, 'Rotation');
  }
  assert.equal(s.push.rejections.length, 0);

  const keys = await s.api('GET', '/api/push/keys', undefined, editor());
  assert.equal(keys.status, 200);
  assert.deepEqual(keys.json.keys, [
    { fingerprint: fingerprint(newKey.publicKey), current: true, subscribers: 2 },
    { fingerprint: fingerprint(oldKey.publicKey), current: false, subscribers: 1 },
  ]);
  assert.equal((await s.api('GET', '/api/push/keys')).status, 401);
});

test('a subscription made with a key we do not hold is refused with 400 and not stored', async () => {
  const stranger = webpush.generateVAPIDKeys();
  const sub = s.push.newSubscriber({ applicationServerKey: stranger.publicKey });
  const r = await s.api('POST', '/api/subscriptions/push', {
    subscription: { endpoint: sub.endpoint, keys: sub.keys },
    applicationServerKey: stranger.publicKey,
  });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_input');
  assert.match(String(r.json.error.message), /applicationServerKey/);
  assert.equal(await s.app.domain.pushSubscribers.findId(sub.endpoint), null);
});

test('a push signed with the wrong key is refused by the push service, as Apple does (403)', async () => {
  // Made with the old key, but posted without saying so: assumed on the current key, so the push
  // is signed with the new one and the push service refuses it, as Apple does (VapidPkHashMismatch).
  await ensureTopics(s, ['mauvaise-cle']);
  const sub = s.push.newSubscriber({ applicationServerKey: oldKey.publicKey });
  const r = await s.api('POST', '/api/subscriptions/push', {
    subscription: { endpoint: sub.endpoint, keys: sub.keys },
    topics: ['mauvaise-cle'],
  });
  assert.equal(r.status, 201);
  const a = await s.api('POST', '/api/alerts', { title: 'Clé', body: 'Texte', topics: ['mauvaise-cle'], channels: ['push'] }, editor());
  const view = await s.delivered(String(a.json.id), 15_000);
  assert.equal(view.delivery.push.failed, 1);
  assert.ok(s.push.rejections.some((x) => x.subscriberId === sub.id && x.status === 403));
});
