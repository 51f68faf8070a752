// The workflow cannot be bypassed: bull-board is read-only for editors and only retries or cleans
// failed jobs for chiefs, every board write is audited, a fan-out job put straight on the queue
// for a revision that may not send sends nothing, and a scheduled alert whose audience grew past
// APPROVAL_THRESHOLD before its time waits for a chief instead of going out.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'bullmq';
import { startStack, editor, until, EDITOR, CHIEF, type Stack } from './support/stack';
import { signIn } from './support/console';
import { items, pushesOf, sleep, subscribePush } from './support/newsroom';
import { fanoutJobId, type FanoutJob } from '../src/pipeline/fanout';

const CHIEF2 = 'cheffe-adjointe-token-0123456789abcdef';
const BOARD = '/admin/queues/api/queues';
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

const publish = async (body: Record<string, unknown>, token = EDITOR): Promise<string> => {
  const r = await s.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor(token));
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
};
const inAMinute = () => new Date(Date.now() + 60_000).toISOString();
const fanoutJob = (data: FanoutJob) => ({ name: 'fanout', data, options: { jobId: fanoutJobId(data.alertId, data.rev, data.wave) } });
const boardEntries = async (editorName: string) =>
  items((await s.api('GET', '/api/audit?limit=500', undefined, editor(CHIEF))).json.entries)
    .filter((e) => String(e.action) === 'board' && String(e.editor) === editorName)
    .map((e) => e.details as unknown as { method: string; path: string; allowed: boolean });
const finished = (id: string) =>
  until(async () => {
    const job = await s.app.queues.fanout.getJob(id);
    return job?.finishedOn ? job : null;
  }, 15_000) as Promise<Job<FanoutJob, Record<string, unknown>>>;

test("an editor's bull-board add, promote and data edit get 403, send nothing, and are audited", async () => {
  const waiting = await publish({ title: 'Séisme au large de Nice' });
  const scheduled = await publish({ title: 'Résultats du second tour', topics: ['sport'], publishAt: inAMinute() });
  assert.equal((await s.alert(waiting)).status, 'awaiting_approval');
  assert.equal((await s.alert(scheduled)).status, 'scheduled');
  const jobsBefore = await s.app.queues.fanout.getJobCounts();

  const scheduledJob = encodeURIComponent(fanoutJobId(scheduled, 1, 'g0'));
  const session = await signIn(s);
  const attempts = [
    await s.api('POST', `${BOARD}/fanout/add`, fanoutJob({ alertId: waiting, rev: 1, wave: 'g0', gen: 0 }), editor()),
    await s.api('PUT', `${BOARD}/fanout/promote`, undefined, editor()),
    await s.api('PUT', `${BOARD}/fanout/${scheduledJob}/promote`, undefined, editor()),
    await s.api(
      'PATCH',
      `${BOARD}/fanout/${scheduledJob}/update-data`,
      { data: { alertId: waiting, rev: 1, wave: 'g0', gen: 0 } },
      editor(),
    ),
    await s.api('PUT', `${BOARD}/fanout/retry/failed`, undefined, editor()),
    // The console's session from our own origin, as bull-board's own page sends it.
    await session.call('POST', `${BOARD}/fanout/add`, fanoutJob({ alertId: waiting, rev: 1, wave: 'g0', gen: 0 }), {
      headers: { origin: s.base },
    }),
  ];
  for (const r of attempts) {
    assert.equal(r.status, 403, r.text);
    assert.equal(String(r.json.error.code), 'forbidden');
    assert.match(String(r.json.error.message), /read-only/);
  }
  await sleep(500);
  assert.equal(pushesOf(s, waiting).length + pushesOf(s, scheduled).length, 0, 'the push service saw nothing');
  assert.equal((await s.alert(waiting)).status, 'awaiting_approval');
  assert.equal((await s.alert(scheduled)).status, 'scheduled');
  assert.deepEqual(await s.app.queues.fanout.getJobCounts(), jobsBefore, 'no job added, promoted or changed');

  const logged = await boardEntries('redaction');
  assert.equal(logged.length, attempts.length);
  assert.ok(logged.every((e) => !e.allowed));
  assert.deepEqual(
    logged
      .map((e) => `${e.method} ${e.path}`)
      .reverse()
      .slice(0, 2),
    [`POST /api/queues/fanout/add`, `PUT /api/queues/fanout/promote`],
  );
});

test("a chief's add and promote are refused too; a chief's retry of a failed job runs it again; all audited", async () => {
  const scheduled = await publish({ title: 'Sommet européen', topics: ['sport'], publishAt: inAMinute() });
  const jobId = encodeURIComponent(fanoutJobId(scheduled, 1, 'g0'));
  const add = await s.api('POST', `${BOARD}/fanout/add`, fanoutJob({ alertId: scheduled, rev: 1, wave: 'g1', gen: 1 }), editor(CHIEF));
  const promote = await s.api('PUT', `${BOARD}/fanout/${jobId}/promote`, undefined, editor(CHIEF));
  const promoteAll = await s.api('PUT', `${BOARD}/fanout/promote`, undefined, editor(CHIEF));
  const pause = await s.api('PUT', `${BOARD}/push/pause`, undefined, editor(CHIEF));
  const cleanDelayed = await s.api('PUT', `${BOARD}/fanout/${jobId}/clean`, undefined, editor(CHIEF));
  for (const r of [add, promote, promoteAll, pause, cleanDelayed]) assert.equal(r.status, 403, r.text);
  assert.equal((await s.alert(scheduled)).status, 'scheduled');
  assert.equal(await (await s.app.queues.fanout.getJob(fanoutJobId(scheduled, 1, 'g0')))!.getState(), 'delayed');

  // A job that fails for good: a fan-out of an alert that does not exist.
  const failing = fanoutJobId('zzzzzzzzzzzz', 1, 'g0');
  await s.app.queues.fanout.add('fanout', { alertId: 'zzzzzzzzzzzz', rev: 1, wave: 'g0', gen: 0 }, { jobId: failing });
  const first = await finished(failing);
  assert.equal(await first.getState(), 'failed');
  const retried = await s.api('PUT', `${BOARD}/fanout/${encodeURIComponent(failing)}/retry`, undefined, editor(CHIEF));
  assert.equal(retried.status, 204, retried.text);
  await until(async () => {
    const job = await s.app.queues.fanout.getJob(failing);
    return job && job.finishedOn! > first.finishedOn! && (await job.getState()) === 'failed';
  }, 15_000);
  const cleanOne = await s.api('PUT', `${BOARD}/fanout/${encodeURIComponent(failing)}/clean`, undefined, editor(CHIEF));
  assert.equal(cleanOne.status, 204, cleanOne.text);
  assert.equal(await s.app.queues.fanout.getJob(failing), undefined, 'the failed job was removed');
  // bull-board removes failed jobs older than 5 s: allowed, whatever it finds.
  const cleanAll = await s.api('PUT', `${BOARD}/fanout/clean/failed`, undefined, editor(CHIEF));
  assert.equal(cleanAll.status, 200, cleanAll.text);
  await sleep(300);
  assert.equal(pushesOf(s, scheduled).length, 0);

  const logged = (await boardEntries('chef')).reverse();
  assert.deepEqual(
    logged.map((e) => [`${e.method} ${e.path}`, e.allowed]),
    [
      ['POST /api/queues/fanout/add', false],
      [`PUT /api/queues/fanout/${jobId}/promote`, false],
      ['PUT /api/queues/fanout/promote', false],
      ['PUT /api/queues/push/pause', false],
      [`PUT /api/queues/fanout/${jobId}/clean`, false],
      [`PUT /api/queues/fanout/${encodeURIComponent(failing)}/retry`, true],
      [`PUT /api/queues/fanout/${encodeURIComponent(failing)}/clean`, true],
      ['PUT /api/queues/fanout/clean/failed', true],
    ],
  );
});

test('a fan-out job put straight on the queue sends nothing for a revision awaiting approval, scheduled ahead, cancelled or superseded', async () => {
  const q = s.app.queues.fanout;
  const waiting = await publish({ title: 'Crue de la Seine' });
  const scheduled = await publish({ title: 'Conseil des ministres', topics: ['sport'], publishAt: inAMinute() });
  const cancelled = await publish({ title: 'Annonce retirée', topics: ['sport'], publishAt: inAMinute() });
  assert.equal((await s.api('POST', `/api/alerts/${cancelled}/cancel`, undefined, editor())).status, 200);
  const superseded = await publish({ title: 'Premier bilan', topics: ['sport'], publishAt: inAMinute() });
  const upd = await s.api('POST', `/api/alerts/${superseded}/updates`, { title: 'Bilan revu', publishAt: inAMinute() }, editor());
  assert.equal(upd.status, 202, upd.text);

  // The very job ids the workflow would use, and one of our own choosing.
  const added = [
    await q.add('fanout', { alertId: waiting, rev: 1, wave: 'g0', gen: 0 }, { jobId: fanoutJobId(waiting, 1, 'g0') }),
    await q.add('fanout', { alertId: waiting, rev: 1, wave: 'g0', gen: 0 }),
    await q.add('fanout', { alertId: cancelled, rev: 1, wave: 'g0', gen: 0 }, { jobId: fanoutJobId(cancelled, 1, 'g0') }),
    await q.add('fanout', { alertId: superseded, rev: 1, wave: 'g0', gen: 0 }, { jobId: fanoutJobId(superseded, 1, 'g0') }),
    await q.add('fanout', { alertId: scheduled, rev: 1, wave: 'g1', gen: 0 }, { jobId: fanoutJobId(scheduled, 1, 'g1') }),
  ];
  for (const job of added) {
    const done = await finished(job.id!);
    assert.equal(await done.getState(), 'completed');
    assert.ok(done.returnvalue.refused !== undefined || done.returnvalue.stopped === true, JSON.stringify(done.returnvalue));
  }
  // The scheduled alert's own job, promoted behind the workflow's back: it goes back to waiting.
  await (await q.getJob(fanoutJobId(scheduled, 1, 'g0')))!.promote();
  await until(
    async () => s.logs.some((l) => l.msg === 'fan-out started before its time: delayed again' && l.alertId === scheduled),
    15_000,
  );
  assert.equal(await (await q.getJob(fanoutJobId(scheduled, 1, 'g0')))!.getState(), 'delayed');

  await sleep(300);
  for (const id of [waiting, scheduled, cancelled, superseded]) assert.equal(pushesOf(s, id).length, 0, `nothing sent for ${id}`);
  assert.equal((await s.alert(waiting)).status, 'awaiting_approval');
  assert.equal((await s.alert(scheduled)).status, 'scheduled');
  assert.equal((await s.alert(cancelled)).status, 'cancelled');
  assert.equal((await s.alert(superseded)).revisions[0].status, 'superseded');
  assert.ok(s.logs.some((l) => l.msg === 'fan-out refused: the revision is not in a sendable state' && l.alertId === waiting));
});

test('a scheduled alert whose audience grows past the threshold before its time waits for approval and sends nothing', async () => {
  const id = await publish({
    title: 'Festival de Cannes : le palmarès',
    topics: ['culture'],
    publishAt: new Date(Date.now() + 5000).toISOString(),
  });
  await subscribePush(s, { topics: ['culture'] });
  const view = await s.alert(id);
  assert.equal(view.status, 'scheduled');
  assert.equal(view.approval, undefined, 'one reader at publish: no approval needed');
  await subscribePush(s, { topics: ['culture'] });
  await subscribePush(s, { topics: ['culture'] });

  const waiting = await until(async () => {
    const v = await s.alert(id);
    return v.status === 'awaiting_approval' ? v : null;
  }, 30_000);
  assert.deepEqual(waiting.approval, { audience: 3 });
  await sleep(300);
  assert.equal(pushesOf(s, id).length, 0, 'nothing sent without approval');
  const log = items((await s.api('GET', `/api/audit?alert=${id}`, undefined, editor())).json.entries);
  assert.deepEqual(
    log.map((e) => [String(e.action), String(e.editor)]),
    [
      ['await_approval', 'system'],
      ['publish', 'redaction'],
    ],
  );
  assert.deepEqual(log[0].details, { audience: 3, threshold: 2 });

  const ok = await s.api('POST', `/api/alerts/${id}/approve`, undefined, editor(CHIEF));
  assert.equal(ok.status, 202, ok.text);
  const done = await s.delivered(id, 15_000);
  assert.equal(done.delivery.push.sent, 3);
  assert.equal(done.approval!.approvedBy, 'chef');
  assert.equal(pushesOf(s, id).length, 3);
});
