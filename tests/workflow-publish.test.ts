// Publish once (Idempotency-Key, including two requests racing), test sends that can only reach
// the internal list, and the audit log of editor actions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, CHIEF, type Stack } from './support/stack';
import { confirmEmail, mailsOf, pushesOf, subscribePush, type PushOpts, items } from './support/newsroom';
import type { TestSubscriber } from './support/push-service';

let s: Stack;
let testDevice: TestSubscriber;
const readers: TestSubscriber[] = [];

before(async () => {
  // Push subscription ids are dense from 1: the first browser to subscribe is the newsroom's test phone.
  s = await startStack({ TEST_RECIPIENTS: '1,essais@redaction.example' });
  testDevice = await subscribePush(s);
  for (const opts of [{}, { topics: ['sport'] }, {}] as PushOpts[]) readers.push(await subscribePush(s, opts));
  await confirmEmail(s, 'lecteur@exemple.fr');
});
after(async () => {
  await s.stop();
});

const publish = (body: unknown, key?: string, token?: string) =>
  s.api('POST', '/api/alerts', body, { ...editor(token), ...(key ? { 'idempotency-key': key } : {}) });

test('the same Idempotency-Key and body, sent five times at once, publish one alert once', async () => {
  const body = { title: 'Séisme de magnitude 6 au large de Nice', body: 'Pas de victime signalée.', channels: ['push', 'email'] };
  const answers = await Promise.all(Array.from({ length: 5 }, () => publish(body, 'compose-7f3a')));
  for (const a of answers) assert.equal(a.status, 202, a.text);
  const ids = new Set(answers.map((a) => String(a.json.id)));
  assert.equal(ids.size, 1, 'every answer names the same alert');
  assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length, 4);
  const id = [...ids][0];
  const view = await s.delivered(id, 5000);
  assert.equal(view.delivery.push.sent, 4);
  const got = pushesOf(s, id)
    .map((p) => p.subscriberId)
    .sort();
  assert.deepEqual(got, [testDevice, ...readers].map((r) => r.id).sort(), 'one push per subscriber, no second fan-out');
  assert.equal(mailsOf(s, id).length, 1);
  const list = await s.api('GET', '/api/alerts?limit=200', undefined, editor());
  assert.equal(items(list.json.alerts).filter((a) => String(a.title) === body.title).length, 1);

  const again = await publish(body, 'compose-7f3a');
  assert.equal(again.status, 202);
  assert.equal(String(again.json.id), id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
});

test('the same key with another body is refused with 422 and publishes nothing', async () => {
  const first = await publish({ title: 'Remaniement ministériel', channels: ['push'] }, 'compose-b21');
  assert.equal(first.status, 202);
  await s.delivered(String(first.json.id));
  const pushes = s.push.messages.length;
  const before = (await s.api('GET', '/api/alerts?limit=200', undefined, editor())).json.alerts.length;
  const other = await publish({ title: 'Remaniement ministériel : la liste', channels: ['push'] }, 'compose-b21');
  assert.equal(other.status, 422);
  assert.equal(String(other.json.error.code), 'idempotency_key_reused');
  const after = (await s.api('GET', '/api/alerts?limit=200', undefined, editor())).json.alerts.length;
  assert.equal(after, before);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(s.push.messages.length, pushes);
});

test('keys are scoped per editor, and malformed keys are rejected', async () => {
  const body = { title: 'Grève à la SNCF', channels: ['email'] };
  const a = await publish(body, 'same-key-both');
  const b = await publish(body, 'same-key-both', CHIEF);
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.notEqual(String(a.json.id), String(b.json.id));
  const bad = await publish(body, 'x'.repeat(300));
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.error.message), /Idempotency-Key/);
});

test('a test goes only to TEST_RECIPIENTS, labelled « TEST », whatever the body says', async () => {
  const pushesBefore = s.push.messages.length;
  const r = await s.api(
    'POST',
    '/api/alerts/test',
    { title: 'Essai de mise en page', body: 'Ne pas diffuser.', topics: ['sport'], urgency: 'high' },
    editor(),
  );
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.id);
  assert.equal(String(r.json.kind), 'test');
  const view = await s.delivered(id);
  assert.equal(view.delivery.push.sent, 1);
  assert.equal(view.delivery.email.sent, 1);
  const pushes = pushesOf(s, id);
  assert.deepEqual(
    pushes.map((p) => p.subscriberId),
    [testDevice.id],
  );
  assert.equal(pushes[0].title, '[TEST] Essai de mise en page');
  assert.equal(s.push.messages.length, pushesBefore + 1, 'no reader got anything');
  const mails = mailsOf(s, id);
  assert.equal(mails.length, 1);
  assert.deepEqual(mails[0].to, ['essais@redaction.example']);
  assert.equal(mails[0].subject, '[TEST] Essai de mise en page');
  assert.match(mails[0].text, /^TEST — /);
  assert.match(mails[0].text, /aucun\s+lecteur ne l’a reçu/);
  assert.equal(mails[0].headers['list-unsubscribe'], undefined);
});

test('the audit log lists every editor action, newest first, and can be filtered by alert', async () => {
  const pub = await publish({ title: 'Audit : alerte', channels: ['push'] });
  const id = String(pub.json.id);
  await s.delivered(id);
  await s.api('POST', `/api/alerts/${id}/updates`, { body: 'Précisions' }, editor());
  const log = await s.api('GET', '/api/audit?limit=50', undefined, editor());
  assert.equal(log.status, 200);
  const entries = items(log.json.entries);
  assert.equal(String(entries[0].action), 'update');
  assert.equal(String(entries[0].alertId), id);
  assert.equal(String(entries[0].editor), 'redaction');
  assert.equal(String(entries[1].action), 'publish');
  assert.ok(entries.some((e) => String(e.action) === 'test'));
  const times = entries.map((e) => Date.parse(String(e.at)));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => b - a),
  );
  const mine = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor());
  assert.deepEqual(
    items(mine.json.entries).map((e) => String(e.action)),
    ['update', 'publish'],
  );
  assert.equal((await s.api('GET', '/api/audit')).status, 401);
  assert.equal((await s.api('GET', '/api/audit?before=nope', undefined, editor())).status, 400);
});
