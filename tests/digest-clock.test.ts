// Digest clock arithmetic: which minutes a (time zone, time) group is due at, across
// daylight-saving changes, and what DIGEST_TIMES accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dueRuns, offeredDigestTime, parseDigestTimes } from '../src/digest-clock';
import { andNot } from '../src/bits';

const utc = (iso: string) => Date.parse(iso);
const at = (runs: { at: number; date: string }[]) => runs.map((r) => `${new Date(r.at).toISOString()} ${r.date}`);

test('a group is due once at its local minute, on its local date', () => {
  // 07:30 in Paris is 06:30 UTC in winter; Auckland's 07:30 falls on the previous UTC day.
  assert.deepEqual(at(dueRuns('Europe/Paris', 450, utc('2026-11-26T06:00:00Z'), utc('2026-11-26T07:00:00Z'))), [
    '2026-11-26T06:30:00.000Z 2026-11-26',
  ]);
  assert.deepEqual(at(dueRuns('Pacific/Auckland', 450, utc('2026-11-25T18:00:00Z'), utc('2026-11-25T19:00:00Z'))), [
    '2026-11-25T18:30:00.000Z 2026-11-26',
  ]);
  assert.deepEqual(dueRuns('UTC', 450, utc('2026-11-26T07:30:00Z'), utc('2026-11-26T08:00:00Z')), [], 'the span is (from, to]');
});

test('a time that a spring-forward night skips is due at the first minute after the jump; an autumn repeat is due twice on one date', () => {
  // Paris, 29 March 2026: 02:00 local jumps to 03:00 (01:00 UTC). 02:30 never happens.
  assert.deepEqual(at(dueRuns('Europe/Paris', 150, utc('2026-03-29T00:30:00Z'), utc('2026-03-29T01:30:00Z'))), [
    '2026-03-29T01:00:00.000Z 2026-03-29',
  ]);
  // Paris, 25 October 2026: 02:30 is lived twice; both runs name the same local date, so the
  // day's claim bitmap lets only the first send.
  const twice = dueRuns('Europe/Paris', 150, utc('2026-10-25T00:00:00Z'), utc('2026-10-25T02:00:00Z'));
  assert.equal(twice.length, 2);
  assert.equal(new Set(twice.map((r) => r.date)).size, 1);
});

test('DIGEST_TIMES takes a step dividing the day or a list of whole minutes; choices outside it are refused', () => {
  assert.equal(parseDigestTimes('*/15').minutes.length, 96);
  assert.deepEqual(parseDigestTimes('18:00, 07:30,07:30').minutes, [450, 1080]);
  assert.throws(() => parseDigestTimes('*/7'), /divide 1440/);
  assert.throws(() => parseDigestTimes('7:30'), /07:30/);
  const quarter = parseDigestTimes('*/15');
  assert.equal(offeredDigestTime('07:45', quarter), 465);
  for (const bad of ['07:31', '7:45', '24:00', '07:45:00', '']) assert.equal(offeredDigestTime(bad, quarter), null, bad);
});

test('andNot takes digest readers out of an audience and keeps ids past the end of their bitmap', () => {
  assert.deepEqual([...andNot(Buffer.from([0xff, 0xff]), Buffer.from([0x0f]))], [0xf0, 0xff]);
  assert.deepEqual([...andNot(Buffer.from([0xff]), Buffer.alloc(0))], [0xff]);
});
