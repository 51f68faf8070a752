// Quiet hours: in a subscriber's window (their own, or the newsroom's QUIET_HOURS, on their own
// clock) only flash alerts go out; others wait for the window's end, and are dropped if a newer
// revision supersedes them meanwhile. A subscriber may only choose a window of QUIET_WINDOWS, in
// whole minutes: the stack offers one on the UTC clock that ends at the next minute boundary far
// enough ahead. Every check on time compares the service's own instants (the window's end it
// reports as heldUntil, the push service's receipt times), never a budget; the scenarios wait out
// their windows side by side.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack } from './support/stack';
import { clockAt, confirmEmail, mailsOf, pushesOf, subscribePush, windowAround } from './support/newsroom';
import type { TestSubscriber } from './support/push-service';
import { ensureTopics } from './support/topics';
import { fanoutJobId, heldWave } from '../src/pipeline/fanout';

/** "HH:MM" on the clock of `timeZone` at instant `ms`. */
const minuteAt = (timeZone: string, ms: number) => clockAt(timeZone, ms).slice(0, 5);

// Began a minute ago; ends on the first minute boundary at least 25 s away (the stack starts, then
// each test does its work before the end).
const night = (() => {
  const now = Date.now();
  const end = Math.ceil((now + 25_000) / 60_000) * 60_000;
  return { end, text: `${minuteAt('UTC', now - 60_000)}-${minuteAt('UTC', end)}` };
})();

let s: Stack;
before(async () => {
  s = await startStack({ QUIET_WINDOWS: `22:00-08:00,${night.text}` });
  await ensureTopics(s, ['nuit', 'bilan']);
});
after(async () => {
  await s.stop();
});

const publish = async (body: Record<string, unknown>, stack = s) => {
  const r = await stack.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  return String(r.json.id);
};
const reached = (id: string, sub: TestSubscriber, stack = s) => pushesOf(stack, id).filter((p) => p.subscriberId === sub.id);

/** The instant a window written to the second ends: what the service must report as heldUntil. */
const toSecond = (ms: number) => ms - (ms % 1000);
/** How long to wait, at most, for what is due when a window ends. A bound, not a budget. */
const afterWindow = (windowEnds: number) => windowEnds - Date.now() + 20_000;

describe("a subscriber's own window (both tests wait for the same end)", { concurrency: true }, () => {
  test('a subscriber in their quiet window gets a flash before the window ends, and other alerts only after it', async () => {
    const sleeper = await subscribePush(s, { topics: ['nuit'], timeZone: 'UTC', quietHours: night.text });
    const awake = await subscribePush(s, { topics: ['nuit'], timeZone: 'America/New_York' });
    const local = await subscribePush(s, { topics: ['nuit'] });

    const id = await publish({ title: 'Résultats du second tour', topics: ['nuit'] });
    await until(async () => reached(id, awake).length + reached(id, local).length === 2, 15_000);
    // Once the batches of those awake are done, what is left waits for the window's end.
    const held = await until(async () => {
      const v = await s.alert(id);
      return v.status === 'held' ? v : null;
    }, 15_000);
    const windowEnds = Date.parse(held.heldUntil!);
    assert.equal(windowEnds, night.end, `held until ${held.heldUntil}, the end of the sleeper's window`);
    assert.deepEqual(held.pending, { push: 1, email: 0 });
    assert.equal(reached(id, sleeper).length, 0);

    const flash = await publish({ title: 'Explosion à Lyon', topics: ['nuit'], flash: true });
    await until(async () => reached(flash, sleeper).length === 1, 15_000);
    assert.ok(reached(flash, sleeper)[0].receivedAt < windowEnds, 'the flash went out inside the window');

    await until(async () => reached(id, sleeper).length === 1, afterWindow(windowEnds));
    assert.ok(reached(id, sleeper)[0].receivedAt >= windowEnds, 'the held alert went out once the window had ended, not before');
    const done = await s.delivered(id, 15_000);
    assert.equal(done.delivery.push.sent, 3);
    assert.equal(reached(id, awake).length, 1, 'nobody twice');
  });

  test('a held alert superseded by an update is dropped: the sleeper wakes to the update only', async () => {
    const sleeper = await subscribePush(s, { topics: ['bilan'], timeZone: 'UTC', quietHours: night.text });
    const awake = await subscribePush(s, { topics: ['bilan'] });
    const id = await publish({ title: 'Inondations : 4 disparus', topics: ['bilan'] });
    await until(async () => reached(id, awake).length === 1, 15_000);
    // Revision 1's wave for the sleeper is booked for the window's end...
    const rev1Wave = fanoutJobId(id, 1, heldWave(0, night.end));
    await until(async () => (await (await s.app.queues.fanout.getJob(rev1Wave))?.getState()) === 'delayed', 15_000);
    const upd = await s.api('POST', `/api/alerts/${id}/updates`, { title: 'Inondations : les 4 disparus retrouvés' }, editor());
    assert.equal(upd.status, 202);
    // ...and the update took it out: nothing of revision 1 is left that could go out.
    assert.equal(await s.app.queues.fanout.getJob(rev1Wave), undefined);
    await until(async () => reached(id, awake).length === 2, 15_000);
    await until(async () => reached(id, sleeper).length >= 1, afterWindow(night.end));
    const view = await s.delivered(id, 15_000);
    assert.deepEqual(
      reached(id, sleeper).map((p) => p.rev),
      [2],
      'revision 1 was dropped, revision 2 delivered',
    );
    assert.ok(reached(id, sleeper)[0].receivedAt >= night.end, 'after the window ended');
    assert.deepEqual(
      view.revisions.map((r) => r.status),
      ['superseded', 'delivered'],
    );
    assert.deepEqual(view.revisions[0].pending, { push: 1, email: 0 }, 'the sleeper never got revision 1');
  });
});

// Its own stack, run after the two above rather than beside them: in one loaded CI-like run the
// two failed with 'fetch failed' 3 s in, while this test was starting its second stack.
test('QUIET_HOURS applies to everyone without a window of their own, on their own clock; email defaults to Paris', async (t) => {
  // The stack starts inside the window, hence the longer one. The newsroom's own window may be
  // in seconds (the operator's setting, not a group's name).
  const end = Date.now() + 15_000;
  const later = `${minuteAt('Europe/Paris', Date.now() + 3 * 3600_000)}-${minuteAt('Europe/Paris', Date.now() + 4 * 3600_000)}`;
  const q = await startStack({
    QUIET_HOURS: windowAround('Europe/Paris', Date.now() - 60_000, end),
    QUIET_WINDOWS: `22:00-08:00,${later}`,
  });
  t.after(() => q.stop());
  const paris = await subscribePush(q); // no time zone: Europe/Paris
  const auckland = await subscribePush(q, { timeZone: 'Pacific/Auckland' }); // the same window, but on Auckland's clock: not now
  const ownWindow = await subscribePush(q, { quietHours: later });
  await confirmEmail(q, 'lectrice@exemple.fr');

  const id = await publish({ title: 'Nouvelle réforme votée', channels: ['push', 'email'] }, q);
  await until(async () => reached(id, auckland, q).length + reached(id, ownWindow, q).length === 2, 15_000);
  const held = await until(async () => {
    const v = await q.alert(id);
    return v.status === 'held' ? v : null;
  }, 15_000);
  const windowEnds = Date.parse(held.heldUntil!);
  assert.equal(windowEnds, toSecond(end), `held until ${held.heldUntil}, the end of QUIET_HOURS on Paris's clock`);
  assert.equal(reached(id, paris, q).length, 0);
  assert.equal(mailsOf(q, id).length, 0);

  await until(async () => reached(id, paris, q).length === 1 && mailsOf(q, id).length === 1, afterWindow(windowEnds));
  assert.ok(reached(id, paris, q)[0].receivedAt >= windowEnds, 'the push waited for the window to end');
  assert.ok(mailsOf(q, id)[0].receivedAt >= windowEnds, 'so did the email');
  const view = await q.delivered(id, 15_000);
  assert.equal(view.delivery.push.sent, 3);
  assert.equal(view.delivery.email.sent, 1);
});
