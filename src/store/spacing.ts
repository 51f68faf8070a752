// MIN_ALERT_GAP: non-flash alerts start at least the gap apart, newsroom-wide. Each one reserves
// the next free start slot with one atomic step, so two alerts published together get slots a
// gap apart instead of both reading the same "last start".
import type { Keys } from './keys';
import type { RedisClient } from './redis';

const RESERVE = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local slot = math.max(now, last + tonumber(ARGV[2]))
redis.call('SET', KEYS[1], string.format('%d', slot), 'PX', string.format('%d', slot - now + tonumber(ARGV[2])))
return string.format('%d', slot)`;

export class Spacing {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  /** The start time (ms) reserved for the next non-flash alert. */
  async reserve(gapMs: number, now = Date.now()): Promise<number> {
    return Number(await this.redis.eval(RESERVE, 1, this.k.gapSlot, now, gapMs));
  }
}
