// The packed subscriber record: every endpoint comes back exactly as given, FCM-shaped ones packed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeRecord, encodeRecord, NO_BASE, splitEndpoint } from '../src/store/push-record';

const p256dh = Buffer.concat([Buffer.from([4]), randomBytes(64)]);
const auth = randomBytes(16);

test('endpoints round-trip through the packed record, and FCM tokens take 3 bytes per 4 characters', () => {
  // Characters, not bytes: the parts need not be canonical base64url.
  const fcmToken = `${randomBytes(17).toString('base64url').slice(0, 22)}:APA91b${randomBytes(100).toString('base64url').slice(0, 129)}`;
  const endpoints = [
    `https://fcm.googleapis.com/fcm/send/${fcmToken}`,
    `https://updates.push.services.mozilla.com/wpush/v2/${randomBytes(120).toString('base64url')}`,
    `https://web.push.apple.com/${randomBytes(60).toString('base64url')}`,
    'https://db5p.notify.windows.com/w/?token=BQYAAAB%2bKz%3d&x=1',
    'https://fcm.googleapis.com/fcm/send/a',
    'https://fcm.googleapis.com/fcm/send/abc=', // '=' is not a base64url character: kept as text
    'https://fcm.googleapis.com/fcm/send/a::b:',
    'https://push.example.fr:8443/é/ü',
    'https://fcm.googleapis.com/',
  ];
  for (const endpoint of endpoints) {
    const { base, token } = splitEndpoint(endpoint);
    const rec = encodeRecord({ p256dh, auth, baseCode: 7, topicIds: [3, 500], token });
    const back = decodeRecord(rec);
    assert.equal(base + back.rest, new URL(endpoint).href, endpoint);
    assert.deepEqual([back.p256dh, back.auth, back.baseCode, back.topicIds], [p256dh, auth, 7, [3, 500]]);
  }
  const { token } = splitEndpoint(endpoints[0]);
  const packed = encodeRecord({ p256dh, auth, baseCode: 1, topicIds: [], token });
  assert.ok(packed.length <= 85 + 4 + Math.ceil((token.length * 3) / 4), `${packed.length} bytes for a ${token.length}-character token`);
});

test('a record without a base code carries its base inline and gives back the whole endpoint', () => {
  const endpoints = [
    `https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB${randomBytes(150).toString('base64')}`,
    `https://made-up-${randomBytes(4).toString('hex')}.push.services.mozilla.com/wpush/v2/${randomBytes(120).toString('base64url')}`,
    `https://x.push.localhost:8443/${'é'.repeat(300)}/${randomBytes(30).toString('base64url')}`, // a base over 255 bytes
  ];
  for (const endpoint of endpoints) {
    const { base, token } = splitEndpoint(endpoint);
    const back = decodeRecord(encodeRecord({ p256dh, auth, baseCode: NO_BASE, inlineBase: base, topicIds: [9], token }));
    assert.equal(back.baseCode, NO_BASE);
    assert.equal(back.rest, new URL(endpoint).href, endpoint);
    assert.deepEqual([back.p256dh, back.auth, back.topicIds], [p256dh, auth, [9]]);
  }
  // The token is still packed after an inline base: 6 bits per base64url character.
  const { base, token } = splitEndpoint(endpoints[1]);
  const rec = encodeRecord({ p256dh, auth, baseCode: NO_BASE, inlineBase: base, topicIds: [], token });
  assert.ok(rec.length <= 85 + 2 + base.length + 3 + Math.ceil((token.length * 3) / 4), `${rec.length} bytes`);
  assert.throws(() => encodeRecord({ p256dh, auth, baseCode: NO_BASE, topicIds: [], token }), /inline/);
});

test('records written before inline bases (a base code, then the token) decode as they did', () => {
  // Bytes 82 on of records the previous release wrote (its encoder, run once): base code 7, topic
  // 3, token "abc:DEF" packed; base code 2, no topic, a path kept as text.
  const head = Buffer.concat([Buffer.from([2, 4]), Buffer.alloc(64, 0x11), Buffer.alloc(16, 0x22)]);
  const packed = decodeRecord(Buffer.concat([head, Buffer.from('0007010003020369b700030c4140', 'hex')]));
  assert.deepEqual([packed.baseCode, packed.topicIds, packed.rest], [7, [3], 'abc:DEF']);
  assert.deepEqual([packed.p256dh, packed.auth], [Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 0x11)]), Buffer.alloc(16, 0x22)]);
  const raw = decodeRecord(Buffer.concat([head, Buffer.from('000200ff2f772f3f746f6b656e3d78253262', 'hex')]));
  assert.deepEqual([raw.baseCode, raw.topicIds, raw.rest], [2, [], '/w/?token=x%2b']);
});
