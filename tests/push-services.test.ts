// The real push services' quirks, played by the local push service: each role is a host name
// under .localhost on the same server, classed by its allowlist entry (`=apple`, `=fcm`, ...),
// and its refusals are shaped as that service words them (Apple's JSON reason, Mozilla's errno,
// FCM's sentence). Checks the classification, the recorded reasons per service, the metrics and
// the 401/403 alarm.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, type Stack } from './support/stack';
import { LOOPBACK_WILDCARD_DOMAIN } from './support/localhost-names';
import type { BehaviourSetting, TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';
import { classify, refusalReason } from '../src/push/service-kind';
import { parseAllowlist } from '../src/push/allowlist';
import type { PushService } from '../src/push/service-kind';

const ROLES = ['apple', 'fcm', 'mozilla', 'wns'] as const;
const hostOf = (role: string) => `${role}.${LOOPBACK_WILDCARD_DOMAIN}`;

let s: Stack;
before(async () => {
  s = await startStack(
    { PUSH_TIMEOUT_MS: '2000', PUSH_RETRY_DELAY_MS: '50', PUSH_RETRY_MAX_DELAY_MS: '200' },
    { api: true, worker: true },
    { extraPushOrigins: (origin) => ROLES.map((r) => `https://${hostOf(r)}:${new URL(origin).port}=${r}`) },
  );
});
after(async () => {
  await s.stop();
});

// Refusals as each service words them.
const apple = (status: number, reason: string): BehaviourSetting => ({ status, body: JSON.stringify({ reason }) });
const mozilla = (status: number, errno: number): BehaviourSetting => ({
  status,
  body: JSON.stringify({
    code: status,
    errno,
    error: 'Gone',
    message: 'Request did not validate',
    more_info: 'http://autopush.readthedocs.io/en/latest/http.html#error-codes',
  }),
});
const fcm = (status: number, text: string): BehaviourSetting => ({ status, body: text });

async function subscribe(topic: string, role: PushService, behaviour?: BehaviourSetting): Promise<TestSubscriber> {
  const b = s.push.newSubscriber(role === 'other' ? {} : { host: hostOf(role) });
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics: [topic] });
  assert.equal(r.status, 201, r.text);
  if (behaviour !== undefined) s.push.setBehaviour(b.id, behaviour);
  return b;
}

async function publish(topic: string): Promise<string> {
  const r = await s.api('POST', '/api/alerts', { title: `Alerte ${topic}`, body: 'Texte', topics: [topic], channels: ['push'] }, editor());
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
}

test('classify: public hosts by name, an allowlist entry with =class wins, anything else is other', () => {
  const rules = parseAllowlist(['https://fcm.googleapis.com', 'https://127.0.0.1:8443=apple', 'https://*.example.net=wns']);
  assert.equal(classify('https://fcm.googleapis.com/fcm/send/abc', rules), 'fcm');
  assert.equal(classify('https://updates.push.services.mozilla.com/wpush/v2/x', rules), 'mozilla');
  assert.equal(classify('https://web.push.apple.com/QGx', rules), 'apple');
  assert.equal(classify('https://wns2-par02p.notify.windows.com/w/?token=1', rules), 'wns');
  assert.equal(classify('https://127.0.0.1:8443/push/1', rules), 'apple');
  assert.equal(classify('https://127.0.0.1:8444/push/1', rules), 'other');
  assert.equal(classify('https://a.example.net/x', rules), 'wns');
  assert.equal(classify('https://push.example.org/x', rules), 'other');
  assert.throws(() => parseAllowlist(['https://127.0.0.1:8443=nokia']), /bad allowlist entry/);
});

test('refusal reasons come from a closed set per service: Apple reason, Mozilla errno, FCM phrase', () => {
  assert.equal(refusalReason('apple', '{"reason":"BadJwtToken"}'), 'BadJwtToken');
  assert.equal(refusalReason('apple', '{"reason":"VapidPkHashMismatch"}'), 'VapidPkHashMismatch');
  assert.equal(refusalReason('apple', '{"reason":"Invented' + 'x'.repeat(50) + '"}'), 'other');
  assert.equal(refusalReason('apple', 'not json'), 'other');
  assert.equal(refusalReason('mozilla', '{"code":410,"errno":103,"error":"Gone"}'), 'errno 103');
  assert.equal(refusalReason('mozilla', '{"errno":"103; DROP"}'), 'other');
  assert.equal(refusalReason('fcm', 'push subscription has unsubscribed or expired.\n'), 'expired');
  assert.equal(
    refusalReason('fcm', 'the key in the authorization header does not correspond to the sender ID used to subscribe this user.'),
    'key mismatch',
  );
  assert.equal(refusalReason('fcm', '<html>Error 400 (Bad Request)!!1</html>'), 'other');
  assert.equal(refusalReason('wns', 'anything'), '');
  assert.equal(refusalReason('apple', ''), '');
});

test("each service's sends, failures and parsed refusals are recorded per alert in delivery.push.byService and in metrics", async () => {
  const topic = 'services';
  await ensureTopics(s, [topic]);
  await subscribe(topic, 'apple');
  await subscribe(topic, 'apple');
  await subscribe(topic, 'apple');
  await subscribe(topic, 'apple', apple(410, 'Unregistered'));
  await subscribe(topic, 'apple', apple(400, 'BadWebPushTopic'));
  await subscribe(topic, 'mozilla');
  await subscribe(topic, 'mozilla', mozilla(410, 103));
  await subscribe(topic, 'fcm');
  await subscribe(topic, 'fcm', fcm(404, 'push subscription has unsubscribed or expired.\n'));
  await subscribe(topic, 'wns');
  await subscribe(topic, 'wns', { status: 413 });
  await subscribe(topic, 'other');

  const id = await publish(topic);
  const view = await s.delivered(id, 15_000);
  assert.deepEqual(view.delivery.push.byService, {
    apple: { sent: 3, failed: 1, expired: 1, errors: { '410 Unregistered': 1, '400 BadWebPushTopic': 1 } },
    mozilla: { sent: 1, failed: 0, expired: 1, errors: { '410 errno 103': 1 } },
    fcm: { sent: 1, failed: 0, expired: 1, errors: { '404 expired': 1 } },
    wns: { sent: 1, failed: 1, expired: 0, errors: { '413': 1 } },
    other: { sent: 1, failed: 0, expired: 0, errors: {} },
  });
  assert.equal(view.delivery.push.alarm, undefined, 'no 401/403: no alarm');

  const m = (await s.api('GET', '/metrics')).text;
  assert.match(m, /^depeche_push_service_deliveries_total\{service="apple",outcome="sent"\} [3-9]\d*$/m);
  assert.match(m, /^depeche_push_service_refusals_total\{service="apple",refusal="410 Unregistered"\} [1-9]\d*$/m);
  assert.match(m, /^depeche_push_service_refusals_total\{service="mozilla",refusal="410 errno 103"\} [1-9]\d*$/m);
});

test('over 20 % of one service answering 401/403 raises the alarm in the view and one loud log line; nobody is pruned', async () => {
  const topic = 'alarme';
  await ensureTopics(s, [topic]);
  // Apple: 1 of 5 refuses us (20 %, not over): no alarm. FCM: 1 of 4 (25 %): alarm.
  for (let i = 0; i < 4; i++) await subscribe(topic, 'apple');
  const appleBad = await subscribe(topic, 'apple', apple(403, 'BadJwtToken'));
  for (let i = 0; i < 3; i++) await subscribe(topic, 'fcm');
  const fcmBad = await subscribe(topic, 'fcm', fcm(401, 'invalid JWT provided'));

  const id = await publish(topic);
  const view = await s.delivered(id, 15_000);
  assert.deepEqual(view.delivery.push.byService.apple, { sent: 4, failed: 1, expired: 0, errors: { '403 BadJwtToken': 1 } });
  assert.deepEqual(view.delivery.push.byService.fcm, { sent: 3, failed: 1, expired: 0, errors: { '401 bad jwt': 1 } });
  const alarm = view.delivery.push.alarm ?? [];
  assert.deepEqual(
    alarm.map((a) => [a.service, a.refused, a.recipients]),
    [['fcm', 1, 4]],
  );
  assert.match(alarm[0].message, /401\/403/);
  const lines = s.logs.filter((l) => l.alarm === 'push-auth' && l.alertId === id);
  assert.equal(lines.length, 1, 'one alarm line per revision and service');
  assert.equal(lines[0].service, 'fcm');
  assert.equal(lines[0].level, 50);
  assert.match(lines[0].msg, /ALARM/);

  // Nobody was removed: the next alert asks both refusers again.
  s.push.reset();
  s.push.setBehaviour(appleBad.id, null);
  s.push.setBehaviour(fcmBad.id, null);
  const next = await publish(topic);
  const v2 = await s.delivered(next, 15_000);
  assert.equal(v2.delivery.push.sent, 9);
  assert.equal(v2.delivery.push.alarm, undefined);
});

test('apple subscriptions get the Declarative Web Push payload (our fields beside it, within the budget); the others the plain one', async () => {
  const topic = 'declaratif';
  await ensureTopics(s, [topic]);
  const onApple = await subscribe(topic, 'apple');
  const onFcm = await subscribe(topic, 'fcm');
  // 2,000 characters of two bytes each: over the budget, so the body must give way.
  const body = 'é'.repeat(2000);
  const r = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Réforme adoptée', body, url: 'https://www.exemple.fr/reforme', topics: [topic], channels: ['push'], story: 'reforme' },
    editor(),
  );
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  await s.delivered(id, 15_000);
  const got = (sub: TestSubscriber) => s.push.messages.find((m) => m.subscriberId === sub.id && (m.json() as { id?: string }).id === id)!;

  const apple = got(onApple);
  assert.ok(Buffer.byteLength(apple.payload) <= 3993, 'within the plaintext budget');
  const d = apple.json() as Record<string, unknown> & { notification: Record<string, unknown> };
  assert.equal(d.web_push, 8030);
  assert.equal(d.mutable, true);
  assert.equal(d.notification.title, 'Réforme adoptée');
  assert.equal(d.notification.navigate, 'https://www.exemple.fr/reforme');
  assert.equal(d.notification.lang, 'fr');
  assert.equal(d.notification.dir, 'ltr');
  assert.match(String(d.notification.body), /…$/, 'the body gave way to fit');
  // Our own fields, for our service worker when it runs.
  assert.equal(d.id, id);
  assert.equal(d.rev, 1);
  assert.equal(d.story, 'reforme');
  assert.equal(d.url, 'https://www.exemple.fr/reforme');

  const plain = got(onFcm).json() as Record<string, unknown>;
  assert.equal(plain.web_push, undefined);
  assert.equal(plain.title, 'Réforme adoptée');
  assert.equal(plain.tag, d.notification.tag, 'the same story tag in both shapes');
});
