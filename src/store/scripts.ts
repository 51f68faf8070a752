// Lua scripts that must be atomic. Each touches keys of one hash tag only, so it runs unchanged
// on Redis Cluster.
import type { Result } from 'ioredis';
import type { RedisClient } from './redis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * KEYS: outcome bitmap, state hash, report hash. ARGV: timing prefix ('' none), service
     * prefix ('' none), outcome, failure reason ('' none), how many state counter fields (m), the
     * m fields, then subscriber ids. How many were newly recorded; each state field, the report's
     * bucket and its service figures move by that many.
     */
    dpRecordOutcomes(
      bits: string,
      state: string,
      report: string,
      timing: string,
      service: string,
      outcome: string,
      reason: string,
      fields: number,
      ...fieldsThenIds: (string | number)[]
    ): Result<number, Context>;
    /** KEYS: state hash. Notes when the revision's first wave started (Redis clock, ms), once. */
    dpStarted(state: string): Result<number, Context>;
    /**
     * KEYS: sent bitmap, received bitmap, clicked bitmap, state hash, report hash, alert hash.
     * ARGV: subscriber id, channel, event, '1' when a click also proves receipt. Bit 1: the event
     * counted; bit 2: a click counted the receipt that had not come.
     */
    dpEngage(
      sent: string,
      received: string,
      clicked: string,
      state: string,
      report: string,
      alert: string,
      id: number,
      ch: string,
      event: string,
      implies: string,
    ): Result<number, Context>;
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

// Elapsed time since the revision's first wave, on Redis's own clock (every worker shares it),
// as the lower edge of its bucket: 100 ms up to 10 s, 1 s up to 2 min, then 10 s (a week at most).
const BUCKET = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function bucket(state)
  local now = now_ms()
  local t0 = tonumber(redis.call('HGET', state, 't0') or '')
  if not t0 then
    redis.call('HSETNX', state, 't0', string.format('%.0f', now))
    t0 = now
  end
  local e = math.min(math.max(now - t0, 0), 604800000)
  local w = 10000
  if e < 10000 then w = 100 elseif e < 120000 then w = 1000 end
  return string.format('%.0f', math.floor(e / w) * w)
end
`;

// The counter moves by the number of bits that flipped from 0 to 1, so recording the same
// recipient twice (a batch run again after a crash) never counts twice. The revision's counters
// (the outcome's, and the push service's with its refusal), the report's timing bucket and its
// service figures all ride on the same call: one script call per group of outcomes.
const RECORD = `${BUCKET}
local m = tonumber(ARGV[5])
local n = 0
for i = m + 6, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then n = n + 1 end
end
if n == 0 then return 0 end
for i = 6, m + 5 do redis.call('HINCRBY', KEYS[2], ARGV[i], n) end
local b = nil
if ARGV[1] ~= '' then
  b = bucket(KEYS[2])
  redis.call('HINCRBY', KEYS[3], ARGV[1] .. b, n)
end
if ARGV[2] ~= '' then
  redis.call('HINCRBY', KEYS[3], ARGV[2] .. ARGV[3], n)
  if b then redis.call('HINCRBY', KEYS[3], ARGV[2] .. 't:' .. b, n) end
  if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[3], ARGV[2] .. 'e:' .. ARGV[4], n) end
end
return n`;

const STARTED = `
local t = redis.call('TIME')
return redis.call('HSETNX', KEYS[1], 't0', string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))`;

// A receipt or a click counts once per recipient and revision (SETBIT returns the old bit), and
// only for a recipient whose message was accepted: received ≤ accepted. A click proves the push
// arrived, so it counts the receipt too when the worker's own report was lost: clicked ≤ received.
const ENGAGE = `${BUCKET}
local id, ch, event = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GETBIT', KEYS[1], id) == 0 then return 0 end
local function received()
  if redis.call('SETBIT', KEYS[2], id, 1) == 1 then return 0 end
  redis.call('HINCRBY', KEYS[4], ch .. ':received', 1)
  redis.call('HINCRBY', KEYS[5], 'r:' .. ch .. ':' .. bucket(KEYS[4]), 1)
  return 1
end
if event == 'received' then return received() end
local implied = 0
if ARGV[4] == '1' then implied = received() * 2 end
if redis.call('SETBIT', KEYS[3], id, 1) == 1 then return implied end
redis.call('HINCRBY', KEYS[4], ch .. ':clicked', 1)
redis.call('HINCRBY', KEYS[6], ch .. ':clicked', 1)
return 1 + implied`;

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
  redis.defineCommand('dpRecordOutcomes', { numberOfKeys: 3, lua: RECORD });
  redis.defineCommand('dpStarted', { numberOfKeys: 1, lua: STARTED });
  redis.defineCommand('dpEngage', { numberOfKeys: 6, lua: ENGAGE });
  redis.defineCommand('dpClick', { lua: CLICK });
  redis.defineCommand('dpStep', { numberOfKeys: 2, lua: STEP });
  redis.defineCommand('dpWaveBits', { numberOfKeys: 7, lua: WAVE_BITS });
  redis.defineCommand('dpRaiseStop', { numberOfKeys: 1, lua: RAISE_STOP });
}
