// Roles and four-eyes approval: an alert over APPROVAL_THRESHOLD waits until a chief other than
// its author approves it; an editor cannot approve; two chiefs approving at once send it once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, EDITOR, CHIEF, type Stack } from './support/stack';
import { pushesOf, sleep, subscribePush, items } from './support/newsroom';

const CHIEF2 = 'cheffe-adjointe-token-0123456789abcdef';
let s: Stack;

before(async () => {
  s = await startStack({ EDITOR_TOKENS: `redaction:${EDITOR},chef:${CHIEF}:chief,cheffe:${CHIEF2}:chief`, APPROVAL_THRESHOLD: '2' });
  await subscribePush(s, { topics: ['politique'] });
  await subscribePush(s, { topics: ['politique'] });
  await subscribePush(s, { topics: ['sport'] });
});
after(async () => {
  await s.stop();
});

const publish = async (body: Record<string, unknown>, token = EDITOR) => {
  const r = await s.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor(token));
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
};
const approve = (id: string, token: string) => s.api('POST', `/api/alerts/${id}/approve`, undefined, editor(token));

test('over the threshold an alert waits, sends nothing, and an editor cannot approve it', async () => {
  const id = await publish({ title: 'Explosion dans une usine à Rouen' });
  const view = await s.alert(id);
  assert.equal(view.status, 'awaiting_approval');
  assert.deepEqual(view.approval, { audience: 3 });
  await sleep(300);
  assert.equal(pushesOf(s, id).length, 0);
  const denied = await approve(id, EDITOR);
  assert.equal(denied.status, 403);
  assert.equal(String(denied.json.error.code), 'forbidden');
  const ok = await approve(id, CHIEF);
  assert.equal(ok.status, 202, ok.text);
  const done = await s.delivered(id);
  assert.equal(done.delivery.push.sent, 3);
  assert.equal(done.approval!.approvedBy, 'chef');
  assert.equal(pushesOf(s, id).length, 3);
});

test('a chief cannot approve their own alert; another chief can', async () => {
  const id = await publish({ title: 'Incendie à Marseille' }, CHIEF);
  const own = await approve(id, CHIEF);
  assert.equal(own.status, 403);
  assert.match(String(own.json.error.message), /another chief/);
  assert.equal((await s.alert(id)).status, 'awaiting_approval');
  assert.equal((await approve(id, CHIEF2)).status, 202);
  await s.delivered(id);
  assert.equal(pushesOf(s, id).length, 3);
});

test('two chiefs approving at once send the alert once', async () => {
  const id = await publish({ title: 'Accord à Bruxelles' });
  const [a, b] = await Promise.all([approve(id, CHIEF), approve(id, CHIEF2)]);
  assert.deepEqual([a.status, b.status].sort(), [202, 409]);
  await s.delivered(id);
  const got = pushesOf(s, id).map((p) => p.subscriberId);
  assert.equal(got.length, 3);
  assert.equal(new Set(got).size, 3);
});

test('at or under the threshold no approval is needed; approving then is a 409', async () => {
  const id = await publish({ title: 'Réforme des retraites', topics: ['politique'] });
  const view = await s.delivered(id);
  assert.equal(view.approval, undefined);
  assert.equal(view.delivery.push.sent, 2);
  const small = await publish({ title: 'Les Bleus en finale', topics: ['sport'] });
  assert.equal((await s.delivered(small)).delivery.push.sent, 1);
  assert.equal((await approve(small, CHIEF)).status, 409);
});

test('an alert cancelled while awaiting approval can no longer be approved, and the audit shows it all', async () => {
  const id = await publish({ title: 'Fausse alerte' });
  const c = await s.api('POST', `/api/alerts/${id}/cancel`, undefined, editor());
  assert.equal(c.status, 200, c.text);
  assert.equal(String(c.json.status), 'cancelled');
  assert.equal((await approve(id, CHIEF)).status, 409);
  const log = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor(CHIEF));
  assert.deepEqual(
    items(log.json.entries).map((e) => `${String(e.action)}:${String(e.editor)}`),
    ['cancel:redaction', 'publish:redaction'],
  );
  const approvals = await s.api('GET', '/api/audit', undefined, editor());
  assert.ok(
    items(approvals.json.entries).some(
      (e) => String(e.action) === 'approve' && String(e.editor) === 'cheffe' && String(e.role) === 'chief',
    ),
  );
  await sleep(200);
  assert.equal(pushesOf(s, id).length, 0);
});
