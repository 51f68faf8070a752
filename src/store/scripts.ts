// Lua scripts that must be atomic. Each touches keys of one hash tag only, so it runs unchanged
// on Redis Cluster.
import type { Result } from 'ioredis';
import type { RedisClient } from './redis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: outcome bitmap, counts hash. ARGV: subscriber id, counter field. 1 if newly recorded. */
    dpRecordOutcome(bits: string, counts: string, id: number, field: string): Result<number, Context>;
    /** KEYS: counts hash. ARGV: channel, batch index. New done count, or -1 if already counted. */
    dpBatchDone(counts: string, ch: string, batch: number): Result<number, Context>;
    /** KEYS: alert hash, counts hash. -1 unknown alert, 1 counted, 0 not counted (as many clicks as pushes sent). */
    dpClick(alert: string, counts: string): Result<number, Context>;
  }
}

const RECORD = `
if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0`;

const BATCH_DONE = `
if redis.call('HSETNX', KEYS[1], ARGV[1] .. ':done:' .. ARGV[2], 1) == 1 then
  return redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':batchesDone', 1)
end
return -1`;

// A click report is public and unauthenticated, so it cannot be trusted to be unique; capping
// clicks at the pushes actually sent bounds what a stranger replaying it can do to the figures.
const CLICK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local sent = tonumber(redis.call('HGET', KEYS[2], 'push:sent') or '0')
local clicked = tonumber(redis.call('HGET', KEYS[2], 'push:clicked') or '0')
if clicked >= sent then return 0 end
redis.call('HINCRBY', KEYS[2], 'push:clicked', 1)
return 1`;

const defined = new WeakSet<RedisClient>();

export function defineScripts(redis: RedisClient): void {
  if (defined.has(redis)) return;
  defined.add(redis);
  redis.defineCommand('dpRecordOutcome', { numberOfKeys: 2, lua: RECORD });
  redis.defineCommand('dpBatchDone', { numberOfKeys: 1, lua: BATCH_DONE });
  redis.defineCommand('dpClick', { numberOfKeys: 2, lua: CLICK });
}
