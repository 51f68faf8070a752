// Lua scripts that must be atomic. Each touches keys of one hash tag only, so it runs unchanged
// on Redis Cluster.
import type { Result } from 'ioredis';
import type { RedisClient } from './redis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * KEYS: outcome bitmap, state hash. ARGV: how many counter fields (m), the m fields, then
     * subscriber ids. How many were newly recorded; each field moves by that many.
     */
    dpRecordOutcomes(bits: string, state: string, fields: number, ...fieldsThenIds: (string | number)[]): Result<number, Context>;
    /**
     * KEYS: marks hash, counters hash. ARGV: field, from ('' = absent), to ('' = delete), then
     * counter/delta pairs. Moves the mark from one value to the next and bumps the counters, or
     * does nothing (0): replaying a step can never count twice.
     */
    dpStep(
      marks: string,
      counters: string,
      field: string,
      from: string,
      to: string,
      ...deltas: (string | number)[]
    ): Result<number, Context>;
    /**
     * KEYS: audience, sent, failed, expired, skipped, mask, dest. ARGV: mode, ttl seconds.
     * mode "exclude": dest = audience AND NOT (settled OR mask), kept for ttl; returns its size.
     * mode "within": size of audience AND mask AND NOT settled; dest is scratch and deleted.
     */
    dpWaveBits(
      aud: string,
      sent: string,
      failed: string,
      expired: string,
      skipped: string,
      mask: string,
      dest: string,
      mode: 'exclude' | 'within',
      ttl: number,
    ): Result<number, Context>;
    /** KEYS: control hash. ARGV: revision. Raises `stop` to at least that revision. */
    dpRaiseStop(ctl: string, rev: number): Result<number, Context>;
    /**
     * KEYS: alert hash, then every revision's state hash. -1 unknown alert, 1 counted, 0 not
     * counted (no more clicks than pushes sent over all revisions).
     */
    dpClick(numKeys: number, ...keys: string[]): Result<number, Context>;
  }
}

// The counter moves by the number of bits that flipped from 0 to 1, so recording the same
// recipient twice (a batch run again after a crash) never counts twice.
const RECORD = `
local m = tonumber(ARGV[1])
local n = 0
for i = m + 2, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then n = n + 1 end
end
if n > 0 then
  for i = 2, m + 1 do redis.call('HINCRBY', KEYS[2], ARGV[i], n) end
end
return n`;

const STEP = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1`;

// BITOP treats a missing key as zeros, and a result as long as its longest input. NOT must see a
// string at least as long as the audience, or recipients past its end would vanish from the AND.
const WAVE_BITS = `
local dest = KEYS[7]
if ARGV[1] == 'exclude' then
  redis.call('BITOP', 'OR', dest, KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
else
  redis.call('BITOP', 'OR', dest, KEYS[2], KEYS[3], KEYS[4], KEYS[5])
end
local n = redis.call('STRLEN', KEYS[1])
if n == 0 then redis.call('DEL', dest) return 0 end
if redis.call('STRLEN', dest) < n then redis.call('SETBIT', dest, n * 8 - 1, 0) end
redis.call('BITOP', 'NOT', dest, dest)
if ARGV[1] == 'exclude' then
  redis.call('BITOP', 'AND', dest, dest, KEYS[1])
  redis.call('EXPIRE', dest, ARGV[2])
  return redis.call('BITCOUNT', dest)
end
redis.call('BITOP', 'AND', dest, dest, KEYS[1], KEYS[6])
local count = redis.call('BITCOUNT', dest)
redis.call('DEL', dest)
return count`;

const RAISE_STOP = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'stop') or '0')
local want = tonumber(ARGV[1])
if want > cur then redis.call('HSET', KEYS[1], 'stop', want) return want end
return cur`;

// A click report is public and unauthenticated, so it cannot be trusted to be unique; capping
// clicks at the pushes actually sent bounds what a stranger replaying it can do to the figures.
const CLICK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local sent = 0
for i = 2, #KEYS do sent = sent + tonumber(redis.call('HGET', KEYS[i], 'push:sent') or '0') end
local clicked = tonumber(redis.call('HGET', KEYS[1], 'push:clicked') or '0')
if clicked >= sent then return 0 end
redis.call('HINCRBY', KEYS[1], 'push:clicked', 1)
return 1`;

const defined = new WeakSet<RedisClient>();

export function defineScripts(redis: RedisClient): void {
  if (defined.has(redis)) return;
  defined.add(redis);
  redis.defineCommand('dpRecordOutcomes', { numberOfKeys: 2, lua: RECORD });
  redis.defineCommand('dpClick', { lua: CLICK });
  redis.defineCommand('dpStep', { numberOfKeys: 2, lua: STEP });
  redis.defineCommand('dpWaveBits', { numberOfKeys: 7, lua: WAVE_BITS });
  redis.defineCommand('dpRaiseStop', { numberOfKeys: 1, lua: RAISE_STOP });
}
