// Push subscribers, stored compactly: a dense integer id (so per-recipient state is a bitmap),
// and one packed binary record per subscriber (push-record.ts), 512 records to a hash. The
// endpoints' shared bases (origin and directory) live in a small table, for named push-service
// hosts only (allowlist.ts): a record on a host that only a wildcard admits carries its own base,
// so strangers inventing names cannot fill the table. An index from a 12-byte hash of the
// endpoint to the id finds re-subscriptions.
import { createHash } from 'node:crypto';
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';
import type { Topics } from './topics';
import type { Audience } from './audience';
import { baseCodeOf, decodeRecord, encodeRecord, NO_BASE, splitEndpoint } from './push-record';
import { namedOrigins, type OriginRule } from '../push/allowlist';
import type { QuietGroups } from './quiet';
import type { DailyWindow } from '../config';
import { PushLanguages } from './push-languages';
import type { Lang } from '../model';

export interface PushSubscriptionInput {
  endpoint: string;
  p256dh: Buffer; // 65-byte uncompressed P-256 point
  auth: Buffer; // 16 bytes
  topics: string[];
  /** IANA time zone reported by the subscribe page (canonical spelling); Europe/Paris when absent. */
  timeZone?: string;
  /** The subscriber's own quiet window; absent: the newsroom's QUIET_HOURS. */
  quietHours?: DailyWindow;
  /** The language of the page the reader subscribed from; absent: unchanged (new: the default). */
  lang?: Lang;
}

export interface PushRecord {
  id: number;
  endpoint: string;
  origin: string;
  p256dh: Buffer;
  auth: Buffer;
  topicIds: number[];
}

function endpointField(endpoint: string): Buffer {
  // 96 bits of SHA-256: a collision among even 10^8 endpoints has odds near 10^-13.
  return createHash('sha256').update(endpoint).digest().subarray(0, 12);
}

// Real push services use a handful of bases on a handful of named hosts; the limit only stops a
// stranger from filling the table with made-up paths on those hosts (past BASES_WITH_PATH, new
// ones share their origin only). A table filled before names were required (or past MAX_BASES)
// makes new records carry their base inline: a few dozen bytes more, never a failed subscribe.
export const BASES_WITH_PATH = 256;
const MAX_BASES = 0xffff;

export class PushSubscribers {
  private readonly baseCodes = new Map<string, number>();
  /** NO_BASE decodes as an empty base: the record's rest is then the whole endpoint. */
  private readonly baseNames = new Map<number, string>([[NO_BASE, '']]);
  private readonly isNamed: (origin: string) => boolean;
  /** Who chose which language (bitmaps): read by the push channel to group a batch. */
  readonly languages: PushLanguages;

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly topics: Topics,
    private readonly audience: Audience,
    private readonly quiet: QuietGroups,
    allowlist: readonly OriginRule[],
  ) {
    this.isNamed = namedOrigins(allowlist);
    this.languages = new PushLanguages(redis, k);
  }

  async upsert(input: PushSubscriptionInput): Promise<{ id: number; created: boolean }> {
    return (await this.upsertMany([input]))[0];
  }

  /**
   * Creates or updates many subscribers with a handful of round trips (the import path; a single
   * subscribe is a batch of one). Commands are issued together and ioredis pipelines them, per
   * node on a cluster. Results are in input order; an endpoint given twice keeps the last keys.
   */
  async upsertMany(inputs: readonly PushSubscriptionInput[]): Promise<{ id: number; created: boolean }[]> {
    if (inputs.length === 0) return [];
    // Topics first, before anything is written: one unknown topic refuses the whole batch.
    const wanted = [...new Set(inputs.flatMap((i) => i.topics))];
    const wantedIds = await this.topics.resolve(wanted);
    const topicIdOf = new Map(wanted.map((t, i) => [t, wantedIds[i]]));
    const fields = inputs.map((i) => endpointField(i.endpoint));
    const keyOf = fields.map((f) => f.toString('latin1'));
    const lastOf = new Map<string, number>();
    keyOf.forEach((k, n) => lastOf.set(k, n));
    const unique = [...lastOf.values()];
    // Quiet-hours groups first: a batch that would need a group past MAX_QUIET_GROUPS is refused
    // before anything is stored. null: the default group (Paris, the newsroom's window).
    const groupOf = await this.quiet.groupsFor(inputs.map((i) => ({ timeZone: i.timeZone, window: i.quietHours })));

    const found = await Promise.all(unique.map((n) => this.redis.hget(this.indexKey(fields[n]), fields[n])));
    const idOf = new Map<string, number>();
    const created = new Set<string>();
    const fresh: number[] = [];
    unique.forEach((n, i) => {
      if (found[i]) idOf.set(keyOf[n], Number(found[i]));
      else fresh.push(n);
    });
    if (fresh.length > 0) {
      const first = (await this.redis.incrby(this.k.nextId('push'), fresh.length)) - fresh.length + 1;
      // HSETNX settles a race with a concurrent subscribe of the same endpoint: one id wins.
      const won = await Promise.all(fresh.map((n, i) => this.redis.hsetnx(this.indexKey(fields[n]), fields[n], String(first + i))));
      const lost = fresh.filter((_, i) => !won[i]);
      fresh.forEach((n, i) => {
        if (won[i]) {
          idOf.set(keyOf[n], first + i);
          created.add(keyOf[n]);
        }
      });
      const again = await Promise.all(lost.map((n) => this.redis.hget(this.indexKey(fields[n]), fields[n])));
      lost.forEach((n, i) => {
        if (!again[i]) throw new Error('push index entry vanished during a subscribe');
        idOf.set(keyOf[n], Number(again[i]));
      });
    }

    const updatedIds = unique.filter((n) => !created.has(keyOf[n])).map((n) => idOf.get(keyOf[n])!);
    const previous = await this.getMany(updatedIds);
    // A record may still hold a retired topic's id: clearing its bit would recreate the bitmap.
    const stillActive = new Set(await this.topics.activeIds([...new Set([...previous.values()].flatMap((r) => r.topicIds))]));
    const byBucket = new Map<number, (string | Buffer)[]>();
    const assignments: { id: number; topicIds: number[]; previous: number[] }[] = [];
    for (const n of unique) {
      const id = idOf.get(keyOf[n])!;
      const topicIds = inputs[n].topics.map((t) => topicIdOf.get(t)!);
      const args = byBucket.get(id >> BUCKET_BITS) ?? [];
      args.push(String(id), await this.encode(inputs[n], topicIds));
      byBucket.set(id >> BUCKET_BITS, args);
      assignments.push({ id, topicIds, previous: (previous.get(id)?.topicIds ?? []).filter((t) => stillActive.has(t)) });
    }
    await Promise.all([...byBucket].map(([bucket, args]) => this.redis.hset(this.k.pushRecords(bucket), ...args)));
    await this.audience.assignMany('push', assignments);
    await this.languages.set(unique.flatMap((n) => (inputs[n].lang ? [{ id: idOf.get(keyOf[n])!, lang: inputs[n].lang }] : [])));
    // A new subscriber of the default group has no bit to set anywhere; everyone else, and anyone
    // updated (who may leave a group), moves: their old group's bitmap and the new one's.
    await Promise.all(
      unique
        .filter((n) => !created.has(keyOf[n]) || groupOf[n] !== null)
        .map((n) => this.quiet.moveTo('push', idOf.get(keyOf[n])!, groupOf[n] ?? null)),
    );

    // An endpoint given twice in one batch is created by its first line and updated by the next.
    const reported = new Set<string>();
    return keyOf.map((k) => {
      const isNew = created.has(k) && !reported.has(k);
      reported.add(k);
      return { id: idOf.get(k)!, created: isNew };
    });
  }

  private indexKey(field: Buffer): string {
    return this.k.pushIndex(field.subarray(0, 2).toString('hex').slice(0, 3));
  }

  private async encode(input: PushSubscriptionInput, topicIds: readonly number[]): Promise<Buffer> {
    const { base, token } = splitEndpoint(input.endpoint);
    const keys = { p256dh: input.p256dh, auth: input.auth, topicIds };
    const origin = base.slice(0, base.indexOf('/', 'https://'.length));
    if (this.isNamed(origin)) {
      const baseCode = await this.baseCode(base, BASES_WITH_PATH);
      if (baseCode !== 0) return encodeRecord({ ...keys, baseCode, token });
      // The table is full of directories (someone inventing paths): share the origin only.
      const originCode = await this.baseCode(origin, MAX_BASES);
      if (originCode !== 0) return encodeRecord({ ...keys, baseCode: originCode, token: base.slice(origin.length) + token });
    }
    return encodeRecord({ ...keys, baseCode: NO_BASE, inlineBase: base, token });
  }

  async findId(endpoint: string): Promise<number | null> {
    const field = endpointField(endpoint);
    const v = await this.redis.hget(this.indexKey(field), field);
    return v ? Number(v) : null;
  }

  /** Removes a subscriber entirely (unsubscribe, or the push service said it is gone). */
  async remove(id: number, endpoint?: string): Promise<void> {
    const ep = endpoint ?? (await this.get(id))?.endpoint;
    await this.audience.deactivate('push', id);
    await this.quiet.leave('push', id);
    await this.languages.clear(id);
    await this.redis.hdel(this.k.pushRecords(id >> BUCKET_BITS), String(id));
    if (ep) {
      const field = endpointField(ep);
      await this.redis.hdel(this.indexKey(field), field);
    }
  }

  async get(id: number): Promise<PushRecord | null> {
    return (await this.getMany([id])).get(id) ?? null;
  }

  /** Reads many records, one HMGET per bucket (a delivery batch is one bucket). */
  async getMany(ids: readonly number[]): Promise<Map<number, PushRecord>> {
    const lazy = await this.getLazy(ids);
    return new Map([...lazy].map(([id, read]) => [id, read()]));
  }

  /**
   * The same, decoded only when asked: a delivery batch reads 512 records but starts sending after
   * the first, so decoding the rest up front would only delay the first push.
   */
  async getLazy(ids: readonly number[]): Promise<Map<number, () => PushRecord>> {
    const byBucket = new Map<number, number[]>();
    for (const id of ids) {
      const b = id >> BUCKET_BITS;
      const list = byBucket.get(b) ?? [];
      list.push(id);
      byBucket.set(b, list);
    }
    const found: [number, Buffer][] = [];
    await Promise.all(
      [...byBucket].map(async ([bucket, list]) => {
        const raws = await this.redis.hmgetBuffer(this.k.pushRecords(bucket), ...list.map(String));
        raws.forEach((raw, i) => {
          if (raw) found.push([list[i], raw]);
        });
      }),
    );
    await this.knowBases(found.map(([, rec]) => baseCodeOf(rec)));
    return new Map(found.map(([id, rec]) => [id, () => this.decode(id, rec)]));
  }

  /** The push-service origins subscribers use (to open connections before the first alert). */
  async origins(): Promise<string[]> {
    const names = await this.redis.hkeys(this.k.origins);
    return [...new Set(names.filter((n) => !n.startsWith('#')).map((n) => new URL(n).origin))];
  }

  /** Every subscriber, one bucket (up to 512, in id order) at a time: the export reads this. */
  async *scan(): AsyncGenerator<PushRecord[]> {
    const top = Number((await this.redis.get(this.k.nextId('push'))) ?? 0);
    for (let bucket = 0; bucket <= top >> BUCKET_BITS; bucket++) {
      const raw = await this.redis.hgetallBuffer(this.k.pushRecords(bucket));
      const entries = Object.entries(raw);
      await this.knowBases(entries.map(([, rec]) => baseCodeOf(rec)));
      const records = entries.map(([field, rec]) => this.decode(Number(field), rec));
      if (records.length > 0) yield records.sort((a, b) => a.id - b.id);
    }
  }

  /** Loads the names of these endpoint bases (a handful, cached for good) before decoding. */
  private async knowBases(codes: readonly number[]): Promise<void> {
    for (const code of new Set(codes)) if (!this.baseNames.has(code)) await this.baseName(code);
  }

  /** Synchronous: the record's base must be known (knowBases). */
  private decode(id: number, rec: Buffer): PushRecord {
    const { p256dh, auth, baseCode, topicIds, rest } = decodeRecord(rec);
    const base = this.baseNames.get(baseCode);
    if (base === undefined) throw new Error(`unknown push endpoint base ${baseCode}`);
    const endpoint = base + rest;
    return { id, origin: endpoint.slice(0, endpoint.indexOf('/', 'https://'.length)), endpoint, p256dh, auth, topicIds };
  }

  /** The code of an endpoint base, created once for all processes; 0 if the table has `limit` already. */
  private async baseCode(base: string, limit: number): Promise<number> {
    const cached = this.baseCodes.get(base);
    if (cached !== undefined) return cached;
    const code = Number(
      await this.redis.eval(
        `local c = redis.call('HGET', KEYS[1], ARGV[1])
       if not c then
         if tonumber(redis.call('HGET', KEYS[1], '#next') or 0) >= tonumber(ARGV[2]) then return 0 end
         c = redis.call('HINCRBY', KEYS[1], '#next', 1); redis.call('HSET', KEYS[1], ARGV[1], c); redis.call('HSET', KEYS[1], '#' .. c, ARGV[1])
       end
       return tonumber(c)`,
        1,
        this.k.origins,
        base,
        limit,
      ),
    );
    if (code === 0) return 0;
    this.baseCodes.set(base, code);
    this.baseNames.set(code, base);
    return code;
  }

  private async baseName(code: number): Promise<string> {
    const cached = this.baseNames.get(code);
    if (cached !== undefined) return cached;
    const name = await this.redis.hget(this.k.origins, `#${code}`);
    if (!name) throw new Error(`unknown push endpoint base ${code}`);
    this.baseNames.set(code, name);
    this.baseCodes.set(name, code);
    return name;
  }
}
