// Quiet-hours groups made before zones were canonical and members recorded: time-zone spellings
// of one zone ("europe/paris", "EUROPE/PARIS") were separate groups, and a subscriber's group was
// only found by reading every group's bitmap. Once per instance, at start, one process merges the
// spellings into the canonical group and records each member's group (audQuietMembers); the
// others wait for it, so no process serves a subscribe against half-upgraded groups. Groups whose
// window is not in QUIET_WINDOWS are kept (their subscribers chose them) unless there are more
// groups than MAX_QUIET_GROUPS, as after someone invented windows by the thousand: then those
// subscribers get the newsroom's window on their own clock, and fan-outs stay cheap.
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';
import type { Logger } from '../log';
import { canonicalTimeZone, DEFAULT_TIME_ZONE, windowText, type DailyWindow } from '../quiet-hours';
import { CHANNELS, type Channel } from '../model';

export interface UpgradeLimits {
  maxGroups: number;
  windows?: readonly DailyWindow[];
}

const DONE = '#members'; // mark in the groups hash: members are recorded
const LOCK_SECONDS = 600;
const CHUNK_BYTES = 64 * 1024;

export async function upgradeGroups(redis: RedisClient, k: Keys, log: Logger, limits: UpgradeLimits): Promise<void> {
  const deadline = Date.now() + LOCK_SECONDS * 1000;
  while (!(await redis.hexists(k.quietGroups, DONE))) {
    if (await redis.set(k.quietUpgrade, String(process.pid), 'EX', LOCK_SECONDS, 'NX')) {
      try {
        await upgrade(redis, k, log, limits);
        await redis.hset(k.quietGroups, DONE, '1');
      } finally {
        await redis.del(k.quietUpgrade);
      }
      return;
    }
    if (Date.now() > deadline) throw new Error('quiet-hours groups: another process has held their upgrade for too long');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function upgrade(redis: RedisClient, k: Keys, log: Logger, limits: UpgradeLimits): Promise<void> {
  const names = Object.entries(await redis.hgetall(k.quietGroups)).filter(([name]) => !name.startsWith('#'));
  if (names.length === 0) return;
  const idOf = new Map(names.map(([name, id]) => [name, Number(id)]));
  let merged = 0;
  for (const [name] of names) {
    const bar = name.indexOf('|');
    const zone = canonicalTimeZone(name.slice(0, bar));
    const canonical = zone === null ? name : `${zone}${name.slice(bar)}`;
    if (canonical !== name) {
      await fold(redis, k, idOf, name, canonical);
      merged++;
    }
  }
  const offered = new Set(['default', ...(limits.windows ?? []).map(windowText)]);
  if (limits.windows && idOf.size > limits.maxGroups) {
    for (const name of [...idOf.keys()]) {
      const [zone, window] = name.split('|') as [string, string];
      if (!offered.has(window)) {
        await fold(redis, k, idOf, name, `${zone}|default`);
        merged++;
      }
    }
  }
  let members = 0;
  for (const id of idOf.values()) for (const ch of CHANNELS) members += await recordMembers(redis, k, ch, id);
  log.info({ groups: idOf.size, merged, members }, 'quiet-hours groups upgraded: spellings merged, members recorded');
}

/** Group `name`'s members join group `target`: renamed if it does not exist, its bitmap ORed in otherwise. */
async function fold(redis: RedisClient, k: Keys, idOf: Map<string, number>, name: string, target: string): Promise<void> {
  const id = idOf.get(name)!;
  // The default group (Paris, the newsroom's window) has no bitmap: its members are everyone else.
  const into = target === `${DEFAULT_TIME_ZONE}|default` ? null : idOf.get(target);
  if (into === undefined) {
    await redis.multi().hset(k.quietGroups, target, String(id)).hdel(k.quietGroups, name).exec();
    idOf.set(target, id);
  } else {
    for (const ch of CHANNELS) {
      if (into !== null) await redis.bitop('OR', k.audQuiet(ch, into), k.audQuiet(ch, into), k.audQuiet(ch, id));
      await redis.del(k.audQuiet(ch, id));
    }
    await redis.hdel(k.quietGroups, name);
  }
  idOf.delete(name);
}

/** Writes member → group entries for every bit of one group's bitmap, a chunk at a time. */
async function recordMembers(redis: RedisClient, k: Keys, ch: Channel, group: number): Promise<number> {
  const key = k.audQuiet(ch, group);
  const len = await redis.strlen(key);
  let count = 0;
  for (let from = 0; from < len; from += CHUNK_BYTES) {
    const bytes = await redis.getrangeBuffer(key, from, Math.min(len, from + CHUNK_BYTES) - 1);
    const byBucket = new Map<number, string[]>();
    bytes.forEach((b, i) => {
      for (let bit = 0; b !== 0 && bit < 8; bit++) {
        if ((b & (0x80 >> bit)) === 0) continue;
        const id = (from + i) * 8 + bit;
        const args = byBucket.get(id >> BUCKET_BITS) ?? [];
        args.push(String(id), String(group));
        byBucket.set(id >> BUCKET_BITS, args);
        count++;
      }
    });
    await Promise.all([...byBucket].map(([bucket, args]) => redis.hset(k.audQuietMembers(ch, bucket), ...args)));
  }
  return count;
}
