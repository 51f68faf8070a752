// Scheduling (`publishAt`: held as a delayed job until then) and MIN_ALERT_GAP (non-flash alerts
// start at least the gap apart; flash alerts ignore it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, until, type Stack } from './support/stack';
import { pushesOf, sleep, subscribePush } from './support/newsroom';
import { fanoutJobId, firstWave } from '../src/pipeline/fanout';

const GAP_MS = 2000;
let s: Stack;
before(async () => {
  s = await startStack({ MIN_ALERT_GAP: '2s' });
  await subscribePush(s);
});
after(async () => {
  await s.stop();
});

const publish = async (body: Record<string, unknown>) => {
  const r = await s.api('POST', '/api/alerts', { channels: ['push'], ...body }, editor());
  assert.equal(r.status, 202, r.text);
  return r;
};
const firstPush = async (id: string) => (await until(async () => pushesOf(s, id)[0], 15_000)).receivedAt;

test('publishAt in the future holds the alert until then, with a countdown for the console', async () => {
  const at = Date.now() + 2000;
  const r = await publish({ title: 'Allocution du président à 20 h', publishAt: new Date(at).toISOString(), flash: true });
  const id = String(r.json.id);
  assert.equal(String(r.json.status), 'scheduled');
  assert.equal(Date.parse(String(r.json.publishAt)), at);
  // Held as a delayed job until then: the queue's own record, not a wait on the clock.
  const wave = await s.app.queues.fanout.getJob(fanoutJobId(id, 1, firstWave(0)));
  assert.equal(await wave?.getState(), 'delayed');
  assert.ok(wave!.timestamp + (wave!.opts.delay ?? 0) >= at, 'due at publishAt, not before');
  assert.equal((await s.alert(id)).status, 'scheduled');
  assert.ok((await firstPush(id)) >= at - 50, 'the push service got it at publishAt, not before');
  assert.equal((await s.delivered(id)).delivery.push.sent, 1);
  const log = await s.api('GET', `/api/audit?alert=${id}`, undefined, editor());
  assert.equal(String(log.json.entries[0].details.publishAt), new Date(at).toISOString());
});

test('publishAt must be a future date-time with an offset, at most 30 days ahead', async () => {
  for (const publishAt of ['2020-01-01T00:00:00Z', '2030-01-01T08:00:00', 'demain', new Date(Date.now() + 40 * 86_400_000).toISOString()]) {
    const r = await s.api('POST', '/api/alerts', { title: 'Mauvaise date', channels: ['push'], publishAt }, editor());
    assert.equal(r.status, 400, `${publishAt}: ${r.text}`);
    assert.match(String(r.json.error.message), /publishAt/);
  }
});

test('MIN_ALERT_GAP spaces two non-flash alerts; a flash goes at once', async () => {
  await sleep(GAP_MS); // clear of the slot the scheduled alert took
  const pa = Date.now();
  const a = String((await publish({ title: 'Première alerte' })).json.id);
  const ta = await firstPush(a);
  const b = String((await publish({ title: 'Deuxième alerte' })).json.id);
  const c = String((await publish({ title: 'Flash : attentat déjoué', flash: true })).json.id);
  const waiting = await until(async () => {
    const v = await s.alert(b);
    return v.status === 'held' ? v : null;
  }, 15_000);
  // The first alert took its slot between its publish call and its first push: the second one's
  // starts the gap after that, and the console shows that instant.
  const slot = Date.parse(waiting.heldUntil!);
  assert.ok(slot >= pa + GAP_MS && slot <= ta + GAP_MS, `held until ${waiting.heldUntil}, the gap after the first alert's start`);
  const tc = await firstPush(c);
  const tb = await firstPush(b);
  assert.ok(tb >= slot - 50, `the second alert went out at ${tb - slot} ms from its slot, not before`);
  assert.ok(tc < tb, 'the flash did not wait');
  await s.delivered(b);
});
