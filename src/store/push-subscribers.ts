// Push subscribers, stored compactly: a dense integer id (so per-recipient state is a bitmap),
// and one packed binary record per subscriber, 512 records to a hash. A record keeps the raw key
// bytes and the endpoint without its origin, which is shared through a small origin table. An
// index from a 12-byte hash of the endpoint to the id finds re-subscriptions.
import { createHash } from 'node:crypto';
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';
import type { Topics } from './topics';
import type { Audience } from './audience';

export interface PushSubscriptionInput {
  endpoint: string;
  p256dh: Buffer; // 65-byte uncompressed P-256 point
  auth: Buffer; // 16 bytes
  topics: string[];
}

export interface PushRecord {
  id: number;
  endpoint: string;
  origin: string;
  p256dh: Buffer;
  auth: Buffer;
  topicIds: number[];
}

const VERSION = 1;
const HEAD = 1 + 65 + 16 + 2 + 1;

function endpointField(endpoint: string): Buffer {
  // 96 bits of SHA-256: a collision among even 10^8 endpoints has odds near 10^-13.
  return createHash('sha256').update(endpoint).digest().subarray(0, 12);
}

export class PushSubscribers {
  private readonly originCodes = new Map<string, number>();
  private readonly originNames = new Map<number, string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly topics: Topics,
    private readonly audience: Audience,
  ) {}

  async upsert(input: PushSubscriptionInput): Promise<{ id: number; created: boolean }> {
    const field = endpointField(input.endpoint);
    const indexKey = this.k.pushIndex(field.subarray(0, 2).toString('hex').slice(0, 3));
    let created = false;
    let existing = await this.redis.hget(indexKey, field);
    if (!existing) {
      const fresh = await this.redis.incr(this.k.nextId('push'));
      // HSETNX settles a race between two subscribes of the same endpoint: one id wins.
      if (await this.redis.hsetnx(indexKey, field, String(fresh))) { existing = String(fresh); created = true; }
      else existing = await this.redis.hget(indexKey, field);
    }
    const id = Number(existing);
    const previous = created ? null : await this.get(id);
    const topicIds = await this.topics.ids(input.topics);
    const url = new URL(input.endpoint);
    const origin = url.origin;
    const code = await this.originCode(origin);
    const path = Buffer.from(input.endpoint.slice(origin.length), 'utf8');
    const rec = Buffer.alloc(HEAD + topicIds.length * 2 + path.length);
    rec[0] = VERSION;
    input.p256dh.copy(rec, 1);
    input.auth.copy(rec, 66);
    rec.writeUInt16BE(code, 82);
    rec[84] = topicIds.length;
    topicIds.forEach((t, i) => rec.writeUInt16BE(t, HEAD + i * 2));
    path.copy(rec, HEAD + topicIds.length * 2);
    await this.redis.hset(this.k.pushRecords(id >> BUCKET_BITS), String(id), rec);
    await this.audience.assign('push', id, topicIds, previous?.topicIds ?? []);
    return { id, created };
  }

  async findId(endpoint: string): Promise<number | null> {
    const field = endpointField(endpoint);
    const v = await this.redis.hget(this.k.pushIndex(field.subarray(0, 2).toString('hex').slice(0, 3)), field);
    return v ? Number(v) : null;
  }

  /** Removes a subscriber entirely (unsubscribe, or the push service said it is gone). */
  async remove(id: number, endpoint?: string): Promise<void> {
    const ep = endpoint ?? (await this.get(id))?.endpoint;
    await this.audience.deactivate('push', id);
    await this.redis.hdel(this.k.pushRecords(id >> BUCKET_BITS), String(id));
    if (ep) {
      const field = endpointField(ep);
      await this.redis.hdel(this.k.pushIndex(field.subarray(0, 2).toString('hex').slice(0, 3)), field);
    }
  }

  async get(id: number): Promise<PushRecord | null> {
    return (await this.getMany([id])).get(id) ?? null;
  }

  /** Reads many records, one HMGET per bucket (a delivery batch is one bucket). */
  async getMany(ids: readonly number[]): Promise<Map<number, PushRecord>> {
    const byBucket = new Map<number, number[]>();
    for (const id of ids) {
      const b = id >> BUCKET_BITS;
      const list = byBucket.get(b) ?? [];
      list.push(id);
      byBucket.set(b, list);
    }
    const out = new Map<number, PushRecord>();
    await Promise.all([...byBucket].map(async ([bucket, list]) => {
      const raws = await this.redis.hmgetBuffer(this.k.pushRecords(bucket), ...list.map(String));
      for (let i = 0; i < list.length; i++) {
        const raw = raws[i];
        if (raw) out.set(list[i]!, await this.decode(list[i]!, raw));
      }
    }));
    return out;
  }

  private async decode(id: number, rec: Buffer): Promise<PushRecord> {
    const n = rec[84]!;
    const topicIds: number[] = [];
    for (let i = 0; i < n; i++) topicIds.push(rec.readUInt16BE(HEAD + i * 2));
    const origin = await this.originName(rec.readUInt16BE(82));
    return {
      id,
      origin,
      endpoint: origin + rec.subarray(HEAD + n * 2).toString('utf8'),
      p256dh: Buffer.from(rec.subarray(1, 66)),
      auth: Buffer.from(rec.subarray(66, 82)),
      topicIds,
    };
  }

  private async originCode(origin: string): Promise<number> {
    const cached = this.originCodes.get(origin);
    if (cached !== undefined) return cached;
    const code = Number(await this.redis.eval(
      `local c = redis.call('HGET', KEYS[1], ARGV[1])
       if not c then c = redis.call('HINCRBY', KEYS[1], '#next', 1); redis.call('HSET', KEYS[1], ARGV[1], c); redis.call('HSET', KEYS[1], '#' .. c, ARGV[1]) end
       return tonumber(c)`, 1, this.k.origins, origin));
    this.originCodes.set(origin, code);
    this.originNames.set(code, origin);
    return code;
  }

  private async originName(code: number): Promise<string> {
    const cached = this.originNames.get(code);
    if (cached !== undefined) return cached;
    const name = await this.redis.hget(this.k.origins, `#${code}`);
    if (!name) throw new Error(`unknown push origin code ${code}`);
    this.originNames.set(code, name);
    this.originCodes.set(name, code);
    return name;
  }
}
