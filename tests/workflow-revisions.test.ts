// Stories move: an update replaces the earlier push (same Topic, same tag) and says « Mise à
// jour » by email; a correction reaches exactly those who received an earlier revision, on the
// channel they got it on — not those it failed for, nor those who came or left since.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, type Stack, pushCounts } from './support/stack';
import { ensureTopics } from './support/topics';
import { confirmEmail, items, mailsOf, pushesOf, subscribePush } from './support/newsroom';
import type { TestSubscriber } from './support/push-service';

let s: Stack;
before(async () => {
  s = await startStack();
  await ensureTopics(s, ['monde']);
});
after(async () => {
  await s.stop();
});

const post = (path: string, body?: unknown) => s.api('POST', path, body, editor());
const names = (subs: TestSubscriber[]) => subs.map((b) => b.id).sort();
const got = (id: string, rev: number) =>
  pushesOf(s, id)
    .filter((p) => p.rev === rev)
    .map((p) => p.subscriberId)
    .sort();
const mailedTo = (id: string, subject: RegExp) =>
  mailsOf(s, id)
    .filter((m) => subject.test(m.subject))
    .map((m) => m.to[0])
    .sort();

test('an update replaces the earlier push, says « Mise à jour » by email, and a correction reaches exactly the earlier recipients', async () => {
  const early = await subscribePush(s, { topics: ['monde'] });
  const leaver = await subscribePush(s, { topics: ['monde'] });
  const refused = await subscribePush(s, { topics: ['monde'] }); // its push service answers 403: never reached
  const gone = await subscribePush(s, { topics: ['monde'] }); // 410: deleted at the first alert
  const elsewhere = await subscribePush(s, { topics: ['sport'] });
  await confirmEmail(s, 'monde@exemple.fr', { topics: ['monde'] });
  await confirmEmail(s, 'sport@exemple.fr', { topics: ['sport'] });
  s.push.setBehaviour(refused.id, { status: 403 });
  s.push.setBehaviour(gone.id, { status: 410 });

  const pub = await post('/api/alerts', {
    title: 'Séisme en Turquie : au moins 10 morts',
    body: 'Premier bilan.',
    topics: ['monde'],
    url: 'https://www.exemple.fr/seisme',
  });
  assert.equal(pub.status, 202, pub.text);
  const id = String(pub.json.id);
  const v1 = await s.delivered(id);
  assert.deepEqual(pushCounts(v1.delivery.push), { targeted: 4, sent: 2, failed: 1, expired: 1, clicked: 0 });
  assert.deepEqual(got(id, 1), names([early, leaver]));

  // Someone subscribes after the first revision: the update reaches them, not the correction.
  const late = await subscribePush(s, { topics: ['monde'] });
  const upd = await post(`/api/alerts/${id}/updates`, {
    title: 'Séisme en Turquie : au moins 32 morts',
    body: 'Nouveau bilan des secours.',
  });
  assert.equal(upd.status, 202, upd.text);
  assert.equal(Number(upd.json.rev), 2);
  assert.equal(String(upd.json.kind), 'update');
  const v2 = await s.delivered(id);
  assert.equal(v2.rev, 2);
  assert.deepEqual(got(id, 2), names([early, leaver, late]));
  const first = pushesOf(s, id).find((p) => p.rev === 1 && p.subscriberId === early.id)!;
  const second = pushesOf(s, id).find((p) => p.rev === 2 && p.subscriberId === early.id)!;
  assert.ok(first.topic && first.topic === second.topic, 'same RFC 8030 Topic: the push service replaces the pending one');
  assert.equal(second.tag, first.tag, 'same notification tag: the newer replaces the older on screen');
  assert.equal(second.title, 'Séisme en Turquie : au moins 32 morts');
  assert.equal(second.kind, 'update');
  assert.deepEqual(mailedTo(id, /^Mise à jour\u00a0: Séisme en Turquie\u00a0: au moins 32 morts$/), ['monde@exemple.fr']);
  const updateMail = mailsOf(s, id).find((m) => m.subject.startsWith('Mise à jour'))!;
  assert.match(updateMail.text, /^MISE À JOUR — Séisme/);
  assert.match(updateMail.text, /Nouveau bilan des secours/);

  // The reader who leaves before the correction gets nothing more.
  assert.equal((await s.api('DELETE', '/api/subscriptions/push', { endpoint: leaver.endpoint })).status, 204);
  s.push.setBehaviour(refused.id, null);
  const fix = await post(`/api/alerts/${id}/corrections`, {
    title: 'Séisme en Turquie : 23 morts, et non 32',
    body: 'Le bilan a été corrigé par les secours.',
  });
  assert.equal(fix.status, 202, fix.text);
  const v3 = await s.delivered(id);
  assert.equal(v3.rev, 3);
  assert.equal(v3.kind, 'correction');
  assert.deepEqual(got(id, 3), names([early, late]), 'push: exactly those who got revision 1 or 2 and are still subscribed');
  assert.ok(!got(id, 3).includes(refused.id) && !got(id, 3).includes(elsewhere.id));
  assert.equal(pushesOf(s, id).find((p) => p.rev === 3)!.title, 'Rectificatif\u00a0: Séisme en Turquie : 23 morts, et non 32');
  assert.equal(pushesOf(s, id).find((p) => p.rev === 3)!.tag, first.tag);
  assert.deepEqual(mailedTo(id, /^Rectificatif/), ['monde@exemple.fr'], 'email: by the channel they got it on');
  assert.deepEqual(pushCounts(v3.delivery.push), { targeted: 2, sent: 2, failed: 0, expired: 0, clicked: 0 });
  assert.deepEqual(v3.delivery.email, { targeted: 1, sent: 1, failed: 0, bounced: 0, complained: 0 });

  // The alert keeps its revisions, each with its own figures.
  const view = await s.api('GET', `/api/alerts/${id}`, undefined, editor());
  const revs = items(view.json.revisions);
  assert.deepEqual(
    revs.map((r) => [Number(r.rev), String(r.kind), String(r.status)]),
    [
      [1, 'original', 'delivered'],
      [2, 'update', 'delivered'],
      [3, 'correction', 'delivered'],
    ],
  );
  assert.equal(String(revs[0].title), 'Séisme en Turquie : au moins 10 morts');
  assert.equal(Number(revs[1].delivery.push.sent), 3);
});

test('an update supersedes a revision that has not gone out yet; it never does', async () => {
  const reader = await subscribePush(s, { topics: ['economie'] });
  const at = new Date(Date.now() + 60_000).toISOString();
  const pub = await post('/api/alerts', {
    title: 'Taux directeurs : décision à 14 h 15',
    topics: ['economie'],
    channels: ['push'],
    publishAt: at,
  });
  const id = String(pub.json.id);
  assert.equal(String(pub.json.status), 'scheduled');
  const upd = await post(`/api/alerts/${id}/updates`, { title: 'La BCE relève ses taux' });
  assert.equal(upd.status, 202);
  const view = await s.delivered(id);
  assert.deepEqual(
    view.revisions.map((r) => r.status),
    ['superseded', 'delivered'],
  );
  assert.deepEqual(
    pushesOf(s, id).map((p) => [p.subscriberId, p.rev]),
    [[reader.id, 2]],
  );
  assert.equal((await s.app.queues.fanout.getJobCounts('delayed')).delayed, 0, 'the scheduled job is gone');
});

test('bad revisions are refused with a clear error, and change nothing', async () => {
  const pub = await post('/api/alerts', { title: 'Base', channels: ['email'] });
  const id = String(pub.json.id);
  await s.delivered(id);
  const cases: [string, unknown, number, RegExp][] = [
    [`/api/alerts/${id}/updates`, {}, 400, /title or a body/],
    [`/api/alerts/${id}/updates`, { title: 'x', topics: ['sport'] }, 400, /topics|Unrecognized/i],
    [`/api/alerts/${id}/corrections`, { title: 'Sans corps' }, 400, /body/],
    [`/api/alerts/${id}/updates`, { title: 'x', publishAt: '2020-01-01T00:00:00Z' }, 400, /publishAt/],
    ['/api/alerts/zzzzzzzzzzzz/updates', { title: 'x' }, 404, /alert not found/],
    ['/api/alerts/zzzzzzzzzzzz/corrections', { title: 'x', body: 'y' }, 404, /alert not found/],
  ];
  for (const [path, body, status, message] of cases) {
    const r = await post(path, body);
    assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${r.text}`);
    assert.match(String(r.json.error.message), message);
  }
  assert.equal((await s.alert(id)).rev, 1, 'no revision was added');
  const test = await post('/api/alerts/test', { title: 'Essai', channels: ['push'] });
  assert.equal(test.status, 409, 'no TEST_RECIPIENTS here');
});
