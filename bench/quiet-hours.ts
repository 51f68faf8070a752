// `npm run bench:quiet [-- --n 1000000 --groups 40]`
//
// Quiet hours at fan-out time, measured against the plain alternative in the same run. dépêche
// keeps one bitmap per (time zone, window) group and asks each group « quiet now, until when? »:
// a few BITOPs and one pass over the audience bitmap per alert. The baseline is what a design
// without groups does: read each recipient's time zone and window (one small hash each,
// pipelined by 1,000) and decide per recipient. Both sort the same audience into « send now »
// and « hold »; the bench checks they agree, then prints the times, the ratio, and the Redis
// memory the group bitmaps take.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { startPrivateRedis } from '../src/store/private-redis';
import { keys } from '../src/store/keys';
import { Audience } from '../src/store/audience';
import { QuietGroups } from '../src/store/quiet';
import { Progress } from '../src/store/progress';
import { inWindow, localSeconds, windowText, type DailyWindow } from '../src/quiet-hours';
import { popcount } from '../src/bits';

function option(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const ZONES = [
  'Europe/Paris',
  'Europe/London',
  'America/Montreal',
  'America/New_York',
  'Africa/Dakar',
  'Africa/Abidjan',
  'Asia/Tokyo',
  'Indian/Reunion',
  'Pacific/Noumea',
  'America/Martinique',
  'Europe/Brussels',
  'Europe/Zurich',
  'Asia/Beirut',
  'Africa/Casablanca',
  'America/Cayenne',
  'Pacific/Tahiti',
  'Indian/Mayotte',
  'Asia/Ho_Chi_Minh',
  'America/Sao_Paulo',
  'Australia/Sydney',
];

async function main(): Promise<void> {
  const n = option('n', 1_000_000);
  const groups = option('groups', 40);
  const dir = mkdtempSync(join(tmpdir(), 'depeche-bench-quiet-'));
  const server = await startPrivateRedis(dir);
  const redis = new Redis(server.url, { enableAutoPipelining: true });
  const k = keys('bq');
  const audience = new Audience(redis, k);
  const quiet = new QuietGroups(redis, k, audience, { maxGroups: 100_000 });
  const progress = new Progress(redis, k);
  try {
    // Everyone is active; 60 % are in the default group (Paris, newsroom window), the rest spread
    // over `groups` groups of a time zone and a window of their own.
    const now = Date.now();
    const defaultWindow: DailyWindow = { start: 22 * 3600, end: 8 * 3600 };
    const windows: DailyWindow[] = [defaultWindow, { start: 21 * 3600, end: 7 * 3600 }, { start: 23 * 3600, end: 6 * 3600 }];
    const defs = Array.from({ length: groups }, (_, g) => ({ tz: ZONES[g % ZONES.length], window: windows[g % windows.length] }));
    const members = defs.map(() => Buffer.alloc((n >> 3) + 1));
    const groupOf = new Int16Array(n + 1).fill(-1);
    for (let id = 1; id <= n; id++) {
      if (Math.random() < 0.6) continue;
      const g = Math.floor(Math.random() * groups);
      groupOf[id] = g;
      members[g][id >> 3] |= 0x80 >> (id & 7);
    }
    const active = Buffer.alloc((n >> 3) + 1, 0xff);
    active[0] &= 0x7f; // id 0 is never used
    for (let id = n + 1; id < active.length * 8; id++) active[id >> 3] &= ~(0x80 >> (id & 7)) & 0xff;
    await redis.set(k.audActive('push'), active);
    // Group ids as the store assigns them, then the bitmaps written whole (seeding, not measured).
    for (let g = 0; g < groups; g++) {
      await quiet.assign('push', 1, defs[g].tz, defs[g].window);
    }
    const ids = await quiet.groups();
    for (let g = 0; g < groups; g++) {
      const stored = ids.find((x) => x.timeZone === defs[g].tz && x.window && windowText(x.window) === windowText(defs[g].window))!;
      await redis.set(k.audQuiet('push', stored.id), members[g]);
    }
    // The baseline's data: one small hash per subscriber with an explicit zone or window.
    const seedStart = Date.now();
    for (let id = 1; id <= n; id += 1000) {
      const m = redis.pipeline();
      for (let j = id; j < Math.min(n + 1, id + 1000); j++) {
        const g = groupOf[j];
        if (g >= 0) m.hset(`bq:tzw:${j}`, { tz: defs[g].tz, w: windowText(defs[g].window) });
      }
      await m.exec();
    }
    const seedMs = Date.now() - seedStart;
    await progress.storeAudience('bench', 1, 'push', active);

    // dépêche: group masks, one wave bitmap, one count per window end.
    const t0 = performance.now();
    const masks = await quiet.quietNow('push', defaultWindow, now);
    let mask: Buffer | undefined;
    for (const m of masks.values()) mask = mask ? Buffer.from(mask.map((b, i) => b | (m[i] ?? 0))) : m;
    const sendNow = await progress.buildWave('bench', 1, 'push', 'g0', mask);
    for (const m of masks.values()) await progress.countWithin('bench', 1, 'push', m);
    const groupMs = performance.now() - t0;

    // Baseline: per-recipient lookup and decision.
    const t1 = performance.now();
    let baselineNow = 0;
    const paris = (at: number) => inWindow(defaultWindow, localSeconds('Europe/Paris', at));
    const defaultQuiet = paris(now);
    for (let id = 1; id <= n; id += 1000) {
      const m = redis.pipeline();
      const batch: number[] = [];
      for (let j = id; j < Math.min(n + 1, id + 1000); j++) {
        batch.push(j);
        m.hmget(`bq:tzw:${j}`, 'tz', 'w');
      }
      const res = (await m.exec())!;
      res.forEach(([, v], i) => {
        const [tz, w] = v as [string | null, string | null];
        const quietHere = tz && w ? inWindow(parseText(w), localSeconds(tz, now)) : defaultQuiet;
        if (!quietHere && batch[i] > 0) baselineNow++;
      });
    }
    const baselineMs = performance.now() - t1;

    let groupBytes = 0;
    for (const g of ids) groupBytes += Number((await redis.call('MEMORY', 'USAGE', k.audQuiet('push', g.id))) ?? 0);
    const agree = sendNow === baselineNow;
    const perMillion = (ms: number) => (ms * 1_000_000) / n;
    console.log(
      `\nquiet hours at fan-out, ${n.toLocaleString('en')} active push subscribers, ${groups} groups + the default one (${masks.size} window ends quiet now)`,
    );
    console.log(
      `  send now: ${sendNow.toLocaleString('en')}, hold: ${(popcount(active) - sendNow).toLocaleString('en')} (baseline agrees: ${agree ? 'yes' : 'NO'})`,
    );
    console.log(`  dépêche (group bitmaps): ${groupMs.toFixed(1)} ms  (${perMillion(groupMs).toFixed(1)} ms per million)`);
    console.log(`  baseline (lookup per recipient): ${baselineMs.toFixed(0)} ms  (${perMillion(baselineMs).toFixed(0)} ms per million)`);
    console.log(`  ratio baseline ÷ dépêche: ${(baselineMs / groupMs).toFixed(0)}×`);
    console.log(
      `  group bitmaps in Redis: ${(groupBytes / 1024 / 1024).toFixed(2)} MiB (${(groupBytes / n).toFixed(2)} bytes per subscriber); the baseline's hashes took ${seedMs} ms to write`,
    );
    if (!agree) process.exitCode = 1;
  } finally {
    redis.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function parseText(w: string): DailyWindow {
  const [a, b] = w.split('-') as [string, string];
  const s = (t: string) => t.split(':').reduce((acc, x) => acc * 60 + Number(x), 0);
  return { start: s(a), end: s(b) };
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
