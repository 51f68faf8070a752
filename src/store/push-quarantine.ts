// Quarantine of push subscriptions that a push service keeps refusing for a reason that is neither
// ours (401/403: our key or JWT) nor final (404/410 delete the subscriber) nor ours to fix (413
// too large, 429 too many): the same 4xx on `strikes` alerts in a row, over at least `days`
// calendar days (UTC), stops the sends to it without deleting it, so an editor can restore it.
// Written only on failures: a strike is one script call on a hash holding only the subscribers
// that have strikes (512 ids to a hash), and a success costs a write only for one of those.
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';

const DAY_MS = 86_400_000;

// KEYS: strikes hash, active bitmap, quarantined bitmap. ARGV: id, day, status, strikes, days.
// The count restarts when the status changes: only the same refusal again and again counts.
const STRIKE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
local day = tonumber(ARGV[2])
local n, first = 0, day
if v then
  local c, f, s = string.match(v, '^(%d+),(%d+),(%d+)$')
  if s == ARGV[3] then n = tonumber(c); first = tonumber(f) end
end
n = n + 1
if n >= tonumber(ARGV[4]) and day - first + 1 >= tonumber(ARGV[5]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SETBIT', KEYS[2], ARGV[1], 0)
  redis.call('SETBIT', KEYS[3], ARGV[1], 1)
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], n .. ',' .. first .. ',' .. ARGV[3])
return 0`;

/** Statuses that count: a non-auth 4xx that neither deletes the subscriber nor is a size or rate limit. */
export function isStrike(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 404, 410, 413, 429].includes(status);
}

export interface Strikes {
  count: number;
  firstDay: number;
  status: number;
}

export class PushQuarantine {
  /** The clock the days are read from; tests move it forward instead of waiting days. */
  now: () => number = Date.now;

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly opts: { strikes: number; days: number },
  ) {}

  get enabled(): boolean {
    return this.opts.strikes > 0;
  }

  /** Which of these ids have strikes now: one HKEYS per bucket, and the hashes are small. */
  async struck(ids: readonly number[]): Promise<Set<number>> {
    const out = new Set<number>();
    if (!this.enabled || ids.length === 0) return out;
    const wanted = new Set(ids);
    const buckets = [...new Set(ids.map((id) => id >> BUCKET_BITS))];
    const lists = await Promise.all(buckets.map((b) => this.redis.hkeys(this.k.pushStrikes(b))));
    for (const list of lists) for (const f of list) if (wanted.has(Number(f))) out.add(Number(f));
    return out;
  }

  /** Counts one refusal; true when it put the subscriber in quarantine. */
  async strike(id: number, status: number): Promise<boolean> {
    if (!this.enabled || !isStrike(status)) return false;
    const day = Math.floor(this.now() / DAY_MS);
    const done = await this.redis.eval(
      STRIKE,
      3,
      this.k.pushStrikes(id >> BUCKET_BITS),
      this.k.audActive('push'),
      this.k.pushQuarantined,
      id,
      day,
      status,
      this.opts.strikes,
      this.opts.days,
    );
    return Number(done) === 1;
  }

  /** A delivery went through: the refusals so far no longer count. */
  async clear(id: number): Promise<void> {
    await this.redis.hdel(this.k.pushStrikes(id >> BUCKET_BITS), String(id));
  }

  /** The strikes recorded for one subscriber (null: none). */
  async strikesOf(id: number): Promise<Strikes | null> {
    const v = await this.redis.hget(this.k.pushStrikes(id >> BUCKET_BITS), String(id));
    const m = v ? /^(\d+),(\d+),(\d+)$/.exec(v) : null;
    return m ? { count: Number(m[1]), firstDay: Number(m[2]), status: Number(m[3]) } : null;
  }

  /** Ids whose quarantine bit is set and who are not active (a reader who subscribed again is out). */
  async quarantinedIds(): Promise<number[]> {
    const [held, active] = await Promise.all([
      this.redis.getBuffer(this.k.pushQuarantined),
      this.redis.getBuffer(this.k.audActive('push')),
    ]);
    const ids: number[] = [];
    if (!held) return ids;
    for (let byte = 0; byte < held.length; byte++) {
      const bits = held[byte] & ~(active?.[byte] ?? 0);
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (bits & (0x80 >> bit)) ids.push(byte * 8 + bit);
    }
    return ids;
  }

  /** Sends to it again (an editor's decision); false when it was not in quarantine. */
  async restore(id: number): Promise<boolean> {
    const res = await this.redis
      .multi()
      .getbit(this.k.pushQuarantined, id)
      .getbit(this.k.audActive('push'), id)
      .setbit(this.k.pushQuarantined, id, 0)
      .exec();
    const held = Number(res?.[0]?.[1] ?? 0) === 1 && Number(res?.[1]?.[1] ?? 0) === 0;
    if (held) await this.redis.setbit(this.k.audActive('push'), id, 1);
    await this.clear(id);
    return held;
  }
}
