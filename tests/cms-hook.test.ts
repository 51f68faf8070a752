// The CMS hook in (issue 19): a signed call publishes the post's first revision as an alert whose
// story is the post, a later revision as an update of that alert, the same (post, revision) —
// even five at once — sends once, and `cancel` stops the post's alert. The CMS acts as an editor
// under its own name. Refused signatures and timestamps are rows of the bad-input catalogue.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack } from './support/stack';
import { pushesOf, subscribePush } from './support/newsroom';
import { cmsCall, CMS_HOOK_SECRETS, OTHER_CMS_SECRET } from './support/cms';
import { loadConfig } from '../src/config';

let s: Stack;
before(async () => {
  s = await startStack({ CMS_HOOK_SECRETS });
  await subscribePush(s);
});
after(async () => {
  await s.stop();
});

const post = (postId: string, revision: number, extra: Record<string, unknown> = {}) => ({
  postId,
  revision,
  title: `Direct : incendie à Marseille (${revision})`,
  body: 'Les pompiers sont sur place.',
  url: `https://www.exemple.fr/direct/${postId}`,
  ...extra,
});

test('the first revision of a post publishes an alert whose story is the post; the audit log names the CMS, role editor', async () => {
  const r = await cmsCall(s, post('incendie-marseille', 1));
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.outcome, 'published');
  assert.equal(r.json.rev, 1);
  const id = String(r.json.alertId);
  const view = await s.delivered(id, 10_000);
  assert.equal(view.story, 'wordpress-incendie-marseille');
  assert.equal(view.title, 'Direct : incendie à Marseille (1)');
  assert.equal(view.url, 'https://www.exemple.fr/direct/incendie-marseille');
  assert.equal(view.createdBy, 'wordpress');
  const audit = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor());
  const [entry] = audit.json.entries as unknown as { action: string; editor: string; role: string }[];
  assert.deepEqual([entry?.action, entry?.editor, entry?.role], ['publish', 'wordpress', 'editor']);
  await until(async () => pushesOf(s, id).length === 1);
});

test('a later revision publishes an update of the same alert; a revision seen before, or older, sends nothing; five copies at once send once', async () => {
  const first = await cmsCall(s, post('remaniement', 10));
  assert.equal(first.status, 202, first.text);
  const id = String(first.json.alertId);
  await s.delivered(id, 10_000);

  const update = await cmsCall(s, post('remaniement', 11, { title: 'Remaniement : la liste des ministres' }));
  assert.equal(update.status, 202, update.text);
  assert.deepEqual([update.json.outcome, update.json.alertId, update.json.rev].map(String), ['updated', id, '2']);
  await s.delivered(id, 10_000);
  for (const revision of [11, 10]) {
    const again = await cmsCall(s, post('remaniement', revision));
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, { outcome: 'duplicate', alertId: id, revision: 11 });
  }

  const burst = await Promise.all(Array.from({ length: 5 }, () => cmsCall(s, post('remaniement', 12))));
  assert.deepEqual(burst.map((r) => String(r.json.outcome)).sort(), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'updated']);
  const view = await s.delivered(id, 10_000);
  assert.equal(view.revisions.length, 3, 'original and two updates, nothing more');
  assert.equal(view.revisions[1]?.title, 'Remaniement : la liste des ministres');
  await until(async () => pushesOf(s, id).length === 3);
});

test("cancel stops the post's alert before it goes out; cancel of a post never published is 404", async () => {
  // The fan-out queue paused: the alert stays queued long enough to be cancelled.
  await s.app.queues.fanout.pause();
  const r = await cmsCall(s, post('annonce-retiree', 1));
  assert.equal(r.status, 202, r.text);
  const id = String(r.json.alertId);
  const stop = await cmsCall(s, { postId: 'annonce-retiree', action: 'cancel' });
  await s.app.queues.fanout.resume();
  assert.equal(stop.status, 200, stop.text);
  assert.deepEqual(stop.json, { outcome: 'cancelled', alertId: id });
  const view = await s.alert(id);
  assert.equal(view.status, 'cancelled');
  assert.equal(view.delivery.push.sent, 0);
  const audit = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor());
  assert.equal(String(audit.json.entries[0]?.action), 'cancel');
  assert.equal(String(audit.json.entries[0]?.editor), 'wordpress');

  const unknown = await cmsCall(s, { postId: 'jamais-vu', action: 'cancel' });
  assert.equal(unknown.status, 404, unknown.text);
  assert.equal(String(unknown.json.error.code), 'not_found');
});

test("/api/hooks/cms/<name> accepts only that CMS's secret; the plain path finds the CMS by its secret", async () => {
  const named = await cmsCall(s, post('autre-site-1', 1), { secret: OTHER_CMS_SECRET, path: '/api/hooks/cms/autre' });
  assert.equal(named.status, 202, named.text);
  assert.equal((await s.alert(String(named.json.alertId))).createdBy, 'autre');
  const plain = await cmsCall(s, post('autre-site-2', 1), { secret: OTHER_CMS_SECRET });
  assert.equal(plain.status, 202, plain.text);
  assert.equal((await s.alert(String(plain.json.alertId))).story, 'autre-autre-site-2');
  const wrong = await cmsCall(s, post('autre-site-3', 1), { secret: OTHER_CMS_SECRET, path: '/api/hooks/cms/wordpress' });
  assert.equal(wrong.status, 401, wrong.text);
  assert.equal(String(wrong.json.error.code), 'invalid_signature');
});

test('CMS_HOOK_SECRETS that is not name:whsec_… stops the start with one line naming the variable', () => {
  const base = { EDITOR_TOKENS: 'redaction:redaction-secret-token-0123456789' };
  for (const bad of ['wordpress', 'WordPress:whsec_AAAA', `wordpress:${'a'.repeat(40)}`, `wp:whsec_${'A'.repeat(8)}`]) {
    assert.throws(() => loadConfig({ ...base, CMS_HOOK_SECRETS: bad }), /^Error: configuration: CMS_HOOK_SECRETS/);
  }
  assert.deepEqual(
    loadConfig({ ...base, CMS_HOOK_SECRETS }).cms.secrets.map((c) => c.name),
    ['wordpress', 'autre'],
  );
});
