// The packed subscriber record: every endpoint comes back exactly as given, FCM-shaped ones packed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeRecord, encodeRecord, splitEndpoint } from '../src/store/push-record';

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
  const { token } = splitEndpoint(endpoints[0]!);
  const packed = encodeRecord({ p256dh, auth, baseCode: 1, topicIds: [], token });
  assert.ok(packed.length <= 85 + 4 + Math.ceil((token.length * 3) / 4), `${packed.length} bytes for a ${token.length}-character token`);
});
