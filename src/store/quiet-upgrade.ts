// Quiet-hours groups made before zones were canonical and members recorded: time-zone spellings
// of one zone ("europe/paris", "EUROPE/PARIS") were separate groups, and a subscriber's group was
// only found by reading every group's bitmap. Once per instance, at start, one process merges the
// spellings into the canonical group and records each member's group (audQuietMembers); the
// others wait for it, so no process serves a subscribe against half-upgraded groups. Groups whose
// window is not in QUIET_WINDOWS are kept: their subscribers chose them, and keep them.
import { BUCKET_BITS, CHANNELS, type Channel, type Keys } from './keys';
import type { RedisClient } from './redis';
import type { Logger } from '../log';
import { canonicalTimeZone, DEFAULT_TIME_ZONE } from '../quiet-hours';

const DONE = '#members'; // mark in the groups hash: members are recorded
const LOCK_SECONDS = 600;
const CHUNK_BYTES = 64 * 1024;

export async function upgradeGroups(redis: RedisClient, k: Keys, log: Logger): Promise<void> {
  const deadline = Date.now() + LOCK_SECONDS * 1000;
  while (!(await redis.hexists(k.quietGroups, DONE))) {
    if (await redis.set(k.quietUpgrade, String(process.pid), 'EX', LOCK_SECONDS, 'NX')) {
      try {
        await upgrade(redis, k, log);
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

async function upgrade(redis: RedisClient, k: Keys, log: Logger): Promise<void> {
  const names = Object.entries(await redis.hgetall(k.quietGroups)).filter(([name]) => !name.startsWith('#'));
  if (names.length === 0) return;
  const idOf = new Map(names.map(([name, id]) => [name, Number(id)]));
  let merged = 0;
  for (const [name, raw] of names) {
    const id = Number(raw);
    const bar = name.indexOf('|');
    const zone = canonicalTimeZone(name.slice(0, bar));
    const canonical = zone === null ? name : `${zone}${name.slice(bar)}`;
    if (canonical === name) continue;
    merged++;
    const into = canonical === `${DEFAULT_TIME_ZONE}|default` ? null : idOf.get(canonical);
    if (into === undefined) {
      // The canonical group does not exist yet: the group is only renamed.
      await redis.multi().hset(k.quietGroups, canonical, String(id)).hdel(k.quietGroups, name).exec();
      idOf.set(canonical, id);
    } else {
      // Its members join the canonical group (or the default one, which has no bitmap).
      for (const ch of CHANNELS) {
        if (into !== null) await redis.bitop('OR', k.audQuiet(ch, into), k.audQuiet(ch, into), k.audQuiet(ch, id));
        await redis.del(k.audQuiet(ch, id));
      }
      await redis.hdel(k.quietGroups, name);
    }
    idOf.delete(name);
  }
  let members = 0;
  for (const id of idOf.values()) for (const ch of CHANNELS) members += await recordMembers(redis, k, ch, id);
  log.info({ groups: idOf.size, merged, members }, 'quiet-hours groups upgraded: spellings merged, members recorded');
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
