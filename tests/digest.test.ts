// The daily digest, end to end: real API, real workers with BullMQ's job scheduler ticking every
// minute, real SMTP. A reader chooses « un résumé par jour » one minute ahead (UTC clock) and gets
// exactly one mail with the day's stories; an instant reader keeps getting each alert.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack } from './support/stack';
import { linkIn, mailsTo, subscribeAndConfirm } from './support/email';
import { digestBatchJobId, digestGroupJobId, type DigestJob } from '../src/pipeline/digest';
import { clockText, localDay } from '../src/digest-clock';

let s: Stack;
before(async () => {
  // Every minute may be chosen, so the test can pick the next one.
  s = await startStack({ DIGEST_TIMES: '*/1' });
});
after(async () => {
  await s.stop();
});

const post = (path: string, body?: unknown) => s.api('POST', path, body, editor());

/** Subscribes with a digest choice and confirms through the mailed link, as a reader would. */
async function subscribeDigest(address: string, digest: string, topics: string[] = []): Promise<void> {
  const n = s.smtp.messages.length;
  const r = await s.api('POST', '/api/subscriptions/email', { email: address, topics, timeZone: 'UTC', digest });
  assert.equal(r.status, 202, r.text);
  await s.smtp.waitFor(n + 1, 5000);
  const ok = await s.api('POST', linkIn(mailsTo(s, address, n).at(-1)!.text, 'confirm'), undefined, { accept: 'application/json' });
  assert.equal(ok.status, 200);
}

async function publish(path: string, body: object): Promise<string> {
  const r = await post(path, body);
  assert.equal(r.status, 202, r.text);
  const id = path === '/api/alerts' ? String(r.json.id) : path.split('/')[3];
  await s.delivered(id);
  return id;
}

test('a digest reader gets exactly one digest at their minute: updates replace originals, corrections say « Rectificatif », flash first; instant readers keep their emails; a suppressed address gets none', async () => {
  // The first whole minute at least 15 s ahead, so the alerts below are out before it.
  const dueAt = Math.ceil((Date.now() + 15_000) / 60_000) * 60_000;
  const time = clockText(localDay('UTC', dueAt).minute);
  await subscribeAndConfirm(s, 'instantane@exemple.fr');
  await subscribeDigest('resume@exemple.fr', time);
  await subscribeDigest('sport@exemple.fr', time, ['sport']); // follows a topic with no alert today
  // An editor suppressed this address: its subscription stands, but no digest may reach it.
  await subscribeDigest('suspendu@exemple.fr', time);
  assert.equal((await post('/api/suppressions', { email: 'suspendu@exemple.fr' })).status, 201);
  const before = s.smtp.messages.length;

  const quake = await publish('/api/alerts', { title: 'Séisme au large du Japon', body: 'Premier bilan.', topics: ['international'] });
  await publish(`/api/alerts/${quake}/updates`, { title: 'Séisme au Japon : alerte au tsunami levée', body: 'Nouveau bilan.' });
  const vote = await publish('/api/alerts', { title: 'Le budget adopté par 300 voix', body: 'Vote solennel.', topics: ['politique'] });
  await publish(`/api/alerts/${vote}/corrections`, { title: 'Le budget adopté par 310 voix', body: 'Et non 300.' });
  await publish('/api/alerts', { title: 'Explosion à Marseille', body: 'Flash.', flash: true, topics: ['societe'] });
  await publish('/api/alerts', { title: 'Essai interne', body: 'Ne compte pas.', channels: ['push'] });

  // The instant reader got every email alert; the digest readers none.
  assert.equal(mailsTo(s, 'instantane@exemple.fr', before).length, 5);
  assert.equal(mailsTo(s, 'resume@exemple.fr', before).length, 0, 'no instant email for a digest reader');
  assert.equal(mailsTo(s, 'sport@exemple.fr', before).length, 0);

  // Bounded: the chosen minute (at most 75 s away) plus 15 s for the tick, the group and the batch.
  const digest = await until(async () => mailsTo(s, 'resume@exemple.fr', before)[0], Math.max(0, dueAt - Date.now()) + 15_000, 250);
  assert.ok(digest.receivedAt >= dueAt, 'not before the chosen minute');
  assert.match(digest.subject, /résumé/i);
  const text = digest.text;
  const at = (needle: string) => {
    const i = text.indexOf(needle);
    assert.ok(i >= 0, `« ${needle} » missing from:\n${text}`);
    return i;
  };
  // The flash story first, then the others newest first, each at its latest revision.
  assert.ok(at('Explosion à Marseille') < at('Le budget adopté par 310 voix'));
  assert.ok(at('Le budget adopté par 310 voix') < at('alerte au tsunami levée'));
  assert.match(text, /RECTIFICATIF — Le budget adopté par 310\u00a0voix|RECTIFICATIF — Le budget adopté par 310 voix/);
  assert.match(text, /MISE À JOUR — Séisme au Japon/);
  assert.ok(!text.includes('300 voix'), 'the corrected revision replaces the original');
  assert.ok(!text.includes('Séisme au large du Japon'), 'the update replaces the original');
  assert.ok(!text.includes('Essai interne'), 'a push-only alert is not in the email digest');
  linkIn(text, 'unsubscribe');
  linkIn(text, 'preferences');
  assert.match(digest.headers['list-unsubscribe-post'] ?? '', /One-Click/);

  // The reader whose topics had nothing today gets nothing; the run's figures say so.
  const date = localDay('UTC', dueAt).date;
  const figures = await until(async () => {
    const f = await s.app.domain.digests.lastRun();
    return f && f.sent + f.empty + f.suppressed === 3 ? f : null;
  }, 10_000);
  assert.deepEqual(
    {
      at: figures.at,
      groups: figures.groups,
      targeted: figures.targeted,
      sent: figures.sent,
      empty: figures.empty,
      suppressed: figures.suppressed,
      pending: figures.pending,
    },
    { at: new Date(dueAt).toISOString(), groups: 1, targeted: 3, sent: 1, empty: 1, suppressed: 1, pending: 0 },
  );
  assert.equal(mailsTo(s, 'sport@exemple.fr', before).length, 0);
  assert.equal(mailsTo(s, 'suspendu@exemple.fr', before).length, 0, 'a suppressed address gets no digest');
  // The console's figures: the same run, and the next one a day later for this one group.
  const panel = await s.api('GET', '/api/digest', undefined, editor());
  assert.equal(panel.status, 200);
  assert.equal(Number(panel.json.readers), 3);
  assert.equal(String(panel.json.lastRun.at), new Date(dueAt).toISOString());
  assert.equal(String(panel.json.nextRun.at), new Date(dueAt + 86_400_000).toISOString());
  assert.equal((await s.api('GET', '/api/digest')).status, 401, 'editors only');

  // Replays of the same minute — the group job and a batch job run again, as after a crash and a
  // retry — find the day claimed and send nothing more.
  const group = (await s.app.domain.digests.groups()).find((g) => g.minute === localDay('UTC', dueAt).minute)!;
  const q = s.app.queues.digest;
  const replays: { data: DigestJob; id: string }[] = [
    { data: { kind: 'group', at: dueAt, date, group: group.id }, id: `replay-${digestGroupJobId(dueAt, group.id)}` },
    {
      data: { kind: 'batch', at: dueAt, date, group: group.id, start: 0, size: 512 },
      id: `replay-${digestBatchJobId(dueAt, group.id, 0)}`,
    },
  ];
  for (const r of replays) await q.add(r.data.kind, r.data, { jobId: r.id });
  await until(async () => {
    const states = await Promise.all(replays.map(async (r) => (await q.getJob(r.id))?.getState()));
    return states.every((st) => st === 'completed');
  }, 10_000);
  const replayed = await q.getJob(replays[1].id);
  assert.deepEqual(replayed?.returnvalue, { sent: 0, failed: 0, bounced: 0, empty: 0, suppressed: 0, retry: 0, already: 0 });
  assert.equal(mailsTo(s, 'resume@exemple.fr', before).length, 1, 'exactly one digest');
});

test('the preference page switches between « à chaque alerte » and a daily digest, and refuses a time that is not a clock time', async () => {
  await subscribeAndConfirm(s, 'change@exemple.fr');
  const n = s.smtp.messages.length;
  await publish('/api/alerts', { title: 'Pour le lien', body: '' });
  const link = linkIn(mailsTo(s, 'change@exemple.fr', n)[0].text, 'preferences');
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const page = await s.api('GET', link, undefined, { accept: 'text/html' });
  assert.match(page.text, /Un résumé par jour/);

  const daily = await s.api('POST', link, 'action=digest&mode=daily&digestTime=08%3A45', form);
  assert.equal(daily.status, 200, daily.text);
  assert.equal(daily.json.digest, '08:45');
  const id = Number(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, 'change@exemple.fr'));
  assert.notEqual(await s.app.domain.digests.groupOf(id), null);

  const before = s.smtp.messages.length;
  await publish('/api/alerts', { title: 'Pendant le résumé', body: '' });
  assert.equal(mailsTo(s, 'change@exemple.fr', before).length, 0, 'a digest reader gets no instant email');

  const bad = await s.api('POST', link, 'action=digest&mode=daily&digestTime=8h45', form);
  assert.equal(bad.status, 400);
  assert.equal(String(bad.json.error.code), 'invalid_digest_time');

  const instant = await s.api('POST', link, 'action=digest&mode=instant', form);
  assert.equal(instant.json.digest, null);
  assert.equal(await s.app.domain.digests.groupOf(id), null);
  const again = s.smtp.messages.length;
  await publish('/api/alerts', { title: 'De nouveau à chaque alerte', body: '' });
  assert.equal(mailsTo(s, 'change@exemple.fr', again).length, 1);
});
