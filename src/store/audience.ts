// Who gets an alert, as bitmaps indexed by subscriber id: one per topic, one for subscribers
// without topics (they get everything), one for active subscribers. An alert's audience is
// (OR of its topics' bitmaps, plus the no-topic bitmap) AND active: one BITOP, milliseconds for
// a million subscribers. The result (125 KB per million ids) is handed back to be frozen with the
// alert's own keys, so every later BITOP of that alert stays within one Redis Cluster slot.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { Channel } from '../model';

export class Audience {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  /** Sets the bits of one subscriber for its topics; clears those of topics it left. */
  async assign(ch: Channel, id: number, topicIds: readonly number[], previous: readonly number[] = []): Promise<void> {
    await this.assignMany(ch, [{ id, topicIds, previous }]);
  }

  /**
   * The same for many subscribers at once (imports): one BITFIELD per bitmap touched, all in one
   * MULTI (the bitmaps share a hash tag), so a batch of thousands is a single round trip.
   */
  async assignMany(
    ch: Channel,
    entries: readonly { id: number; topicIds: readonly number[]; previous: readonly number[] }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const ops = new Map<string, (string | number)[]>();
    const set = (key: string, id: number, bit: 0 | 1) => {
      const args = ops.get(key) ?? [];
      args.push('SET', 'u1', id, bit);
      ops.set(key, args);
    };
    for (const e of entries) {
      for (const t of e.previous) if (!e.topicIds.includes(t)) set(this.k.audTopic(ch, t), e.id, 0);
      for (const t of e.topicIds) set(this.k.audTopic(ch, t), e.id, 1);
      set(this.k.audNoTopic(ch), e.id, e.topicIds.length === 0 ? 1 : 0);
      set(this.k.audActive(ch), e.id, 1);
    }
    const m = this.redis.multi();
    for (const [key, args] of ops) m.call('BITFIELD', key, ...args);
    const failed = (await m.exec())?.find(([err]) => err);
    if (failed) throw failed[0]!;
  }

  async deactivate(ch: Channel, id: number): Promise<void> {
    await this.redis.setbit(this.k.audActive(ch), id, 0);
  }

  /** Clears every bit of one subscriber (erasure): its topics, "no topic" and "active". */
  async clear(ch: Channel, id: number, topicIds: readonly number[]): Promise<void> {
    const m = this.redis.multi();
    for (const t of topicIds) m.setbit(this.k.audTopic(ch, t), id, 0);
    m.setbit(this.k.audNoTopic(ch), id, 0).setbit(this.k.audActive(ch), id, 0);
    await m.exec();
  }

  /** The audience bitmap for these topics right now; null topics: every active subscriber. */
  async snapshot(ch: Channel, topicIds: readonly number[] | null): Promise<Buffer> {
    if (topicIds === null) return (await this.redis.getBuffer(this.k.audActive(ch))) ?? Buffer.alloc(0);
    return this.combine(ch, 'OR', [this.k.audNoTopic(ch), ...topicIds.map((t) => this.k.audTopic(ch, t))], true);
  }

  /** `bits` restricted to the active subscribers (a correction never reaches someone who left). */
  async onlyActive(ch: Channel, bits: Buffer): Promise<Buffer> {
    if (bits.length === 0) return bits;
    const tmp = this.tmpKey(ch);
    const res = await this.redis
      .multi()
      .set(tmp, bits, 'EX', 60)
      .bitop('AND', tmp, tmp, this.k.audActive(ch))
      .getBuffer(tmp)
      .del(tmp)
      .exec();
    return (res?.[2]?.[1] as Buffer | null) ?? Buffer.alloc(0);
  }

  /** OR of some of the channel's bitmaps (quiet-hours groups), optionally AND active. */
  async combine(ch: Channel, op: 'OR', keys: readonly string[], activeOnly = false): Promise<Buffer> {
    if (keys.length === 0) return Buffer.alloc(0);
    const tmp = this.tmpKey(ch);
    const m = this.redis.multi().bitop(op, tmp, ...keys);
    if (activeOnly) m.bitop('AND', tmp, tmp, this.k.audActive(ch));
    const res = await m.getBuffer(tmp).del(tmp).exec();
    return (res?.[activeOnly ? 2 : 1]?.[1] as Buffer | null) ?? Buffer.alloc(0);
  }

  /**
   * Size of an audience without storing it (the console shows it before sending). Email leaves out
   * the daily-digest readers, as the fan-out does: the count is (audience) − (audience AND digest),
   * since a NOT of the shorter digest bitmap would also drop the ids past its end.
   */
  async count(ch: Channel, topicIds: readonly number[] | null): Promise<number> {
    const tmp = this.tmpKey(ch);
    const both = `${tmp}:d`;
    const m = this.redis.multi();
    if (topicIds === null) m.bitop('AND', tmp, this.k.audActive(ch), this.k.audActive(ch));
    else
      m.bitop('OR', tmp, this.k.audNoTopic(ch), ...topicIds.map((t) => this.k.audTopic(ch, t))).bitop(
        'AND',
        tmp,
        tmp,
        this.k.audActive(ch),
      );
    m.bitcount(tmp);
    if (ch === 'email') m.bitop('AND', both, tmp, this.k.audDigestReaders).bitcount(both);
    const res = (await m.del(tmp, both).exec()) ?? [];
    const n = topicIds === null ? 1 : 2;
    const total = Number(res[n]?.[1] ?? 0);
    return ch === 'email' ? total - Number(res[n + 2]?.[1] ?? 0) : total;
  }

  private tmpKey(ch: Channel): string {
    return this.k.audTmp(ch, `${process.pid}${Math.random().toString(36).slice(2, 10)}`);
  }
}
