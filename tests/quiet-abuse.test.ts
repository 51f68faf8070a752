// Issue 11, holes 2 and 3: quiet-hours groups and the time-zone cache can no longer be grown by
// strangers. Time zones are reduced to their canonical spelling, windows to those of QUIET_WINDOWS,
// groups are capped, a subscriber's move touches two bitmaps, and a refused time zone leaves
// nothing in the process. Also: groups made by the previous version are upgraded at start.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Redis from 'ioredis';
import { startStack, type Stack } from './support/stack';
import { subscribePush } from './support/newsroom';
import { canonicalTimeZone, formatterCount } from '../src/quiet-hours';
import { loadConfig } from '../src/config';
import { QuietGroups, type QuietLimits } from '../src/store/quiet';
import { Audience } from '../src/store/audience';
import { keys } from '../src/store/keys';
import type { Channel } from '../src/model';

const MAX_GROUPS = 30;
let s: Stack;
// One redis-server: the move test watches it with MONITOR.
before(async () => {
  s = await startStack({ MAX_QUIET_GROUPS: String(MAX_GROUPS), QUIET_WINDOWS: '22:00-08:00,23:00-07:00' }, undefined, { cluster: false });
});
after(async () => {
  await s.stop();
});

const pushPath = '/api/subscriptions/push';
const groupNames = async () =>
  (await s.app.domain.quiet.groups())
    .map((g) => `${g.id} ${g.timeZone} ${g.window ? `${g.window.start}-${g.window.end}` : 'default'}`)
    .sort();
const idOfGroup = async (timeZone: string, start: number | null) =>
  (await s.app.domain.quiet.groups()).find((g) => g.timeZone === timeZone && (g.window?.start ?? null) === start)!.id;
/** "europe/LONDON"-like spelling number `i` of a zone. */
const spelling = (zone: string, i: number) =>
  Array.from(zone)
    .map((c, j) => ((i >> (j % 12)) & 1 ? c.toUpperCase() : c.toLowerCase()))
    .join('');

test('200 anonymous subscribes with time-zone spellings and odd windows add no group: spellings join the canonical group, odd windows get 400', async () => {
  const night = await subscribePush(s, { timeZone: 'Europe/London', quietHours: '22:00-08:00' });
  const plain = await subscribePush(s, { timeZone: 'Europe/London' });
  const before = await groupNames();
  const nightGroup = await idOfGroup('Europe/London', 22 * 3600);
  const plainGroup = await idOfGroup('Europe/London', null);
  assert.equal(await s.app.domain.quiet.groupOf('push', Number(night.dpId)), nightGroup);
  assert.equal(await s.app.domain.quiet.groupOf('push', Number(plain.dpId)), plainGroup);

  const odd = [
    '22:00:01-08:00:00',
    '21:59-08:00',
    '22:00-08:01',
    '00:00-00:01',
    '22:00-08:00 ',
    '22h-8h',
    '10:00-18:00',
    '22:00-08:00-09:00',
  ];
  for (let i = 0; i < 200; i++) {
    const b = s.push.newSubscriber();
    const timeZone = spelling('Europe/London', i + 1);
    if (i % 2 === 0) {
      // Accepted: another spelling of the zone, the offered window (also written with seconds) or none.
      const quietHours = [undefined, '22:00-08:00', '22:00:00-08:00:00'][i % 3];
      const r = await s.api('POST', pushPath, {
        subscription: { endpoint: b.endpoint, keys: b.keys },
        timeZone,
        ...(quietHours ? { quietHours } : {}),
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(
        await s.app.domain.quiet.groupOf('push', Number(r.json.id)),
        quietHours ? nightGroup : plainGroup,
        `${timeZone} ${quietHours}`,
      );
    } else {
      const quietHours = odd[i % odd.length];
      const r = await s.api('POST', pushPath, { subscription: { endpoint: b.endpoint, keys: b.keys }, timeZone, quietHours });
      assert.equal(r.status, 400, quietHours);
      assert.equal(String(r.json.error.code), 'invalid_quiet_window');
      assert.equal(await s.app.domain.pushSubscribers.findId(b.endpoint), null, 'nothing stored');
    }
  }
  assert.deepEqual(await groupNames(), before);

  // Email: the record keeps the canonical spellings; an odd window is refused the same way.
  const ok = await s.api('POST', '/api/subscriptions/email', {
    email: 'nuit@exemple.fr',
    timeZone: 'ASIA/TOKYO',
    quietHours: '23:00:00-07:00:00',
  });
  assert.equal(ok.status, 202, ok.text);
  const id = Number(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, 'nuit@exemple.fr'));
  const rec = await s.app.domain.redis.hgetall(s.app.domain.keys.emailRecord(id));
  assert.deepEqual([rec.timeZone, rec.quietHours], ['Asia/Tokyo', '23:00-07:00']);
  const bad = await s.api('POST', '/api/subscriptions/email', {
    email: 'autre@exemple.fr',
    timeZone: 'Asia/Tokyo',
    quietHours: '23:00:30-07:00',
  });
  assert.equal(bad.status, 400);
  assert.equal(String(bad.json.error.code), 'invalid_quiet_window');
});

test('1,000 refused time zones and 1,000 spellings in refused requests add no zone formatter and leave the JS heap flat', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const bogus = (i: number) =>
    [`Mars/Crater_${i}`, `Europe/Paris${i}`, `${spelling('America/New_York', i)}_${i}`, `Etc/GMT+${i + 20}`][i % 4];
  const b = s.push.newSubscriber();
  // Spellings of real zones in requests that fail for another reason (a bad auth key) are refused too.
  const send = (i: number) =>
    s.api(
      'POST',
      pushPath,
      i % 2 === 0
        ? { subscription: { endpoint: b.endpoint, keys: b.keys }, timeZone: bogus(i) }
        : { subscription: { endpoint: b.endpoint, keys: { ...b.keys, auth: 'AAAA' } }, timeZone: spelling('Pacific/Noumea', i) },
    );
  for (let i = 0; i < 1000; i++) assert.equal((await send(i)).status, 400); // warm-up: JIT, sockets
  gc();
  const formatters = formatterCount();
  const heap = process.memoryUsage();
  for (let i = 1000; i < 3000; i++) {
    const r = await send(i);
    assert.equal(r.status, 400);
    assert.equal(String(r.json.error.code), i % 2 === 0 ? 'invalid_time_zone' : 'invalid_input');
  }
  gc();
  const now = process.memoryUsage();
  assert.equal(formatterCount(), formatters, 'no formatter cached for a refused or unused zone');
  // The previous cache kept a formatter per distinct spelling validated, ~26 KB of ICU memory each
  // (outside the JS heap, and resident memory is too noisy to assert on: the count above is the
  // check). The heap must not keep anything per request either.
  const grown = (now.heapUsed - heap.heapUsed) / 1e6;
  assert.ok(grown < 8, `the JS heap grew by ${grown.toFixed(1)} MB`);
  assert.equal(await s.app.domain.pushSubscribers.findId(b.endpoint), null);
});

test("moving a subscriber between groups touches its member entry and the two groups' bitmaps, no other group", async () => {
  const zones = [
    'Asia/Tokyo',
    'America/Montreal',
    'Africa/Dakar',
    'Indian/Reunion',
    'Pacific/Noumea',
    'America/Martinique',
    'Asia/Beirut',
    'Europe/Brussels',
    'America/Cayenne',
    'Pacific/Tahiti',
  ];
  for (const timeZone of zones) await subscribePush(s, { timeZone, quietHours: '22:00-08:00' });
  const mover = await subscribePush(s, { timeZone: 'Asia/Tokyo', quietHours: '22:00-08:00' });
  const from = await idOfGroup('Asia/Tokyo', 22 * 3600);
  const to = await idOfGroup(canonicalTimeZone('America/Montreal')!, 22 * 3600); // an alias: America/Toronto
  assert.ok((await s.app.domain.quiet.groups()).length >= zones.length);

  const seen: string[][] = [];
  const client = new Redis(s.redis.url);
  const monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
  await new Promise((r) => setTimeout(r, 100));
  const r = await s.api('POST', pushPath, {
    subscription: { endpoint: mover.endpoint, keys: mover.keys },
    timeZone: 'america/montreal',
    quietHours: '22:00-08:00',
  });
  assert.equal(r.status, 201);
  await new Promise((r) => setTimeout(r, 200));
  monitor.disconnect();
  client.disconnect();

  const prefix = `${s.config.redis.prefix}:{aud:push}:q:`;
  const groupKeys = new Set(seen.flatMap((args) => args.filter((a) => a.startsWith(prefix))));
  assert.deepEqual([...groupKeys].sort(), [`${prefix}${from}`, `${prefix}${to}`].sort());
  assert.ok(seen.filter((a) => a[0]?.toLowerCase() === 'getbit').length <= 1, 'at most one GETBIT');
  const d = s.app.domain;
  assert.equal(await d.quiet.groupOf('push', Number(mover.dpId)), to);
  assert.deepEqual(
    [
      await d.redis.getbit(d.keys.audQuiet('push', from), Number(mover.dpId)),
      await d.redis.getbit(d.keys.audQuiet('push', to), Number(mover.dpId)),
    ],
    [0, 1],
  );

  // Unsubscribing takes it out of its group too.
  assert.equal((await s.api('DELETE', pushPath, { endpoint: mover.endpoint })).status, 204);
  assert.equal(await d.quiet.groupOf('push', Number(mover.dpId)), null);
  assert.equal(await d.redis.getbit(d.keys.audQuiet('push', to), Number(mover.dpId)), 0);
});

/**
 * Groups as the previous version left them, under a prefix of their own: names (group i+1 for the
 * i-th) and one member each, no member records. Returns the k and a QuietGroups upgraded once.
 */
async function upgraded(tag: string, ch: Channel, names: string[], members: number[], limits: QuietLimits) {
  const d = s.app.domain;
  const k = keys(`${s.config.redis.prefix}${tag}`);
  await d.redis.hset(k.quietGroups, { '#next': String(names.length), ...Object.fromEntries(names.map((n, i) => [n, String(i + 1)])) });
  for (const [i, id] of members.entries()) await d.redis.setbit(k.audQuiet(ch, i + 1), id, 1);
  const groups = new QuietGroups(d.redis, k, new Audience(d.redis, k), limits);
  await groups.upgrade(d.log);
  return { k, groups };
}

test('the start-up upgrade merges zone spellings of older groups into the canonical group and records their members', async () => {
  const d = s.app.domain;
  const { k, groups: old } = await upgraded(
    'old',
    'push',
    ['europe/london|22:00:00-08:00:00', 'Europe/London|22:00:00-08:00:00', 'EUROPE/PARIS|default', 'asia/tokyo|22:00:01-08:00:00'],
    [5, 7, 9, 11],
    { maxGroups: MAX_GROUPS },
  );

  const names = (await old.groups()).map((g) => `${g.timeZone}|${g.id}`).sort();
  assert.deepEqual(names, ['Asia/Tokyo|4', 'Europe/London|2']);
  assert.deepEqual(await Promise.all([5, 7, 9, 11].map((id) => old.groupOf('push', id))), [2, 2, null, 4]);
  assert.equal(await d.redis.exists(k.audQuiet('push', 1), k.audQuiet('push', 3)), 0, "merged groups' bitmaps are gone");
  assert.deepEqual([await d.redis.getbit(k.audQuiet('push', 2), 5), await d.redis.getbit(k.audQuiet('push', 2), 7)], [1, 1]);
  await old.upgrade(d.log); // once only
  assert.deepEqual((await old.groups()).map((g) => `${g.timeZone}|${g.id}`).sort(), names);
});

test("an upgrade that finds more groups than MAX_QUIET_GROUPS folds windows outside QUIET_WINDOWS into their zone's newsroom window", async () => {
  const d = s.app.domain;
  const { k, groups: many } = await upgraded(
    'many',
    'email',
    ['Asia/Tokyo|22:00:01-08:00:00', 'asia/tokyo|21:00:00-07:00:00', 'Asia/Tokyo|22:00:00-08:00:00', 'Europe/Paris|23:00:00-07:00:00'],
    [3, 4, 5, 6],
    { maxGroups: 1, windows: [{ start: 22 * 3600, end: 8 * 3600 }] },
  );
  assert.deepEqual((await many.groups()).map((g) => `${g.timeZone}|${g.window ? g.window.start : 'default'}|${g.id}`).sort(), [
    'Asia/Tokyo|79200|3',
    'Asia/Tokyo|default|1',
  ]);
  assert.deepEqual(await Promise.all([3, 4, 5, 6].map((id) => many.groupOf('email', id))), [1, 1, 3, null]);
  assert.equal(await d.redis.exists(k.audQuiet('email', 2), k.audQuiet('email', 4)), 0);
});

test('past MAX_QUIET_GROUPS a subscribe that needs a new group gets 503 quiet_groups_full and stores nothing; existing groups still take members', async () => {
  const zones = Intl.supportedValuesOf('timeZone').filter((z) => z.startsWith('America/'));
  let n = (await s.app.domain.quiet.groups()).length;
  for (let i = 0; n < MAX_GROUPS; i++) {
    const reader = s.push.newSubscriber();
    const r = await s.api('POST', pushPath, {
      subscription: { endpoint: reader.endpoint, keys: reader.keys },
      timeZone: zones[i],
      quietHours: '23:00-07:00',
    });
    assert.equal(r.status, 201, r.text);
    n = (await s.app.domain.quiet.groups()).length;
  }
  const before = await groupNames();
  const b = s.push.newSubscriber();
  const full = await s.api('POST', pushPath, {
    subscription: { endpoint: b.endpoint, keys: b.keys },
    timeZone: 'Antarctica/Troll',
    quietHours: '22:00-08:00',
  });
  assert.equal(full.status, 503);
  assert.equal(String(full.json.error.code), 'quiet_groups_full');
  assert.equal(await s.app.domain.pushSubscribers.findId(b.endpoint), null, 'nothing stored');
  const mail = await s.api('POST', '/api/subscriptions/email', { email: 'troll@exemple.fr', timeZone: 'Antarctica/Troll' });
  assert.equal(mail.status, 503);
  assert.equal(await s.app.domain.redis.hget(s.app.domain.keys.emailIndex, 'troll@exemple.fr'), null);
  assert.deepEqual(await groupNames(), before);
  assert.equal(
    (
      await s.api('POST', pushPath, {
        subscription: { endpoint: b.endpoint, keys: b.keys },
        timeZone: 'asia/TOKYO',
        quietHours: '22:00-08:00',
      })
    ).status,
    201,
  );
  assert.ok(s.logs.some((l) => /quiet-hours groups are full/.test(l.msg)));
});

test('QUIET_WINDOWS and MAX_QUIET_GROUPS are validated at start with one clear line', () => {
  assert.deepEqual(loadConfig({ QUIET_WINDOWS: '22:00-08:00, 23:00-07:00' }).workflow.quietWindows, [
    { start: 79200, end: 28800 },
    { start: 82800, end: 25200 },
  ]);
  assert.equal(loadConfig({}).workflow.maxQuietGroups, 200);
  assert.throws(
    () => loadConfig({ QUIET_WINDOWS: '22:00-08:00,22:00:30-08:00' }),
    /^Error: configuration: QUIET_WINDOWS entry "22:00:30-08:00" must be a window in whole minutes/,
  );
  assert.throws(() => loadConfig({ QUIET_WINDOWS: '23:00-07:00' }), /QUIET_WINDOWS must include 22:00-08:00/);
  assert.throws(() => loadConfig({ MAX_QUIET_GROUPS: '0' }), /^Error: configuration: MAX_QUIET_GROUPS/);
});
