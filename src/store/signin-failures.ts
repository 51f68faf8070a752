// Failed editor-token checks, counted per client address so that guessing tokens stops after a
// few tries. One small counter per address that failed, expiring a window after its first
// failure: what a stranger can make us keep is bounded by the requests they send in a window.
import type { RedisClient } from './redis';

export interface SignInLimit {
  maxFailures: number;
  windowMs: number;
}

// INCR, and start the window on the first failure only, so further tries do not prolong it.
const RECORD = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`;

export class SignInFailures {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyOf: (address: string) => string,
    private readonly limit: SignInLimit,
  ) {}

  /** Counts a failure; the ms until the address may try again once it is over the limit, else 0. */
  async record(address: string): Promise<number> {
    const [n, ttl] = (await this.redis.eval(RECORD, 1, this.keyOf(address), this.limit.windowMs)) as [number, number];
    return n > this.limit.maxFailures ? Math.max(ttl, 1) : 0;
  }

  /** The ms until the address may try again when it has used up its failures, else 0. */
  async blockedFor(address: string): Promise<number> {
    const key = this.keyOf(address);
    const n = Number(await this.redis.get(key));
    if (n < this.limit.maxFailures) return 0;
    return Math.max(await this.redis.pttl(key), 1);
  }
}
