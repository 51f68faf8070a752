// Topic names map to small integers once and forever, so subscriber records and audience bitmaps
// carry 2-byte ids instead of strings. Ids never change, so each process caches them.
import type { RedisClient } from './redis';

const ASSIGN = `
local out = {}
for i, name in ipairs(ARGV) do
  local id = redis.call('HGET', KEYS[1], name)
  if not id then
    id = redis.call('HINCRBY', KEYS[1], '#next', 1)
    redis.call('HSET', KEYS[1], name, id)
    redis.call('HSET', KEYS[1], '#' .. id, name)
  end
  out[i] = tonumber(id)
end
return out`;

export class Topics {
  private readonly byName = new Map<string, number>();
  private readonly byId = new Map<number, string>();

  constructor(private readonly redis: RedisClient, private readonly key: string) {}

  /** Ids for these names, creating the missing ones. */
  async ids(names: readonly string[]): Promise<number[]> {
    const missing = names.filter((n) => !this.byName.has(n));
    if (missing.length > 0) {
      const ids = (await this.redis.eval(ASSIGN, 1, this.key, ...missing)) as number[];
      missing.forEach((n, i) => this.remember(n, ids[i]!));
    }
    return names.map((n) => this.byName.get(n)!);
  }

  /** Ids of existing names only: an alert on a topic nobody follows needs no new id. */
  async existingIds(names: readonly string[]): Promise<number[]> {
    const missing = names.filter((n) => !this.byName.has(n));
    if (missing.length > 0) {
      const ids = await this.redis.hmget(this.key, ...missing);
      missing.forEach((n, i) => { if (ids[i]) this.remember(n, Number(ids[i])); });
    }
    return names.flatMap((n) => (this.byName.has(n) ? [this.byName.get(n)!] : []));
  }

  async names(ids: readonly number[]): Promise<string[]> {
    const missing = ids.filter((i) => !this.byId.has(i));
    if (missing.length > 0) {
      const names = await this.redis.hmget(this.key, ...missing.map((i) => `#${i}`));
      missing.forEach((id, i) => { if (names[i]) this.remember(names[i]!, id); });
    }
    return ids.flatMap((i) => (this.byId.has(i) ? [this.byId.get(i)!] : []));
  }

  private remember(name: string, id: number): void {
    this.byName.set(name, id);
    this.byId.set(id, name);
  }

  /** Every topic name ever used, sorted (the console offers them as choices). */
  async list(): Promise<string[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.keys(all).filter((k) => !k.startsWith('#')).sort((a, b) => a.localeCompare(b, 'fr'));
  }
}
