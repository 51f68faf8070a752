// Who gets an alert, as bitmaps indexed by subscriber id: one per topic, one for subscribers
// without topics (they get everything), one for active subscribers. An alert's audience is
// (OR of its topics' bitmaps, plus the no-topic bitmap) AND active: one BITOP, milliseconds for
// a million subscribers, and the same bitmap later tells each batch whom to send to.
import type { Channel, Keys } from './keys';
import type { RedisClient } from './redis';

export class Audience {
  constructor(private readonly redis: RedisClient, private readonly k: Keys) {}

  /** Sets the bits of one subscriber for its topics; clears those of topics it left. */
  async assign(ch: Channel, id: number, topicIds: readonly number[], previous: readonly number[] = []): Promise<void> {
    await this.assignMany(ch, [{ id, topicIds, previous }]);
  }

  /**
   * The same for many subscribers at once (imports): one BITFIELD per bitmap touched, all in one
   * MULTI (the bitmaps share a hash tag), so a batch of thousands is a single round trip.
   */
  async assignMany(ch: Channel, entries: readonly { id: number; topicIds: readonly number[]; previous: readonly number[] }[]): Promise<void> {
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

  /**
   * Freezes the audience of an alert revision into its own bitmap and returns its size.
   * An alert without topics goes to every active subscriber.
   */
  async snapshot(ch: Channel, alertId: string, rev: number, topicIds: readonly number[] | null): Promise<number> {
    const dest = this.k.audAlert(ch, alertId, rev);
    const active = this.k.audActive(ch);
    if (topicIds === null) {
      await this.redis.bitop('OR', dest, active);
    } else {
      await this.redis.bitop('OR', dest, this.k.audNoTopic(ch), ...topicIds.map((t) => this.k.audTopic(ch, t)));
      await this.redis.bitop('AND', dest, dest, active);
    }
    return this.redis.bitcount(dest);
  }

  /** Size of an audience without storing it (the console shows it before sending). */
  async count(ch: Channel, topicIds: readonly number[] | null): Promise<number> {
    if (topicIds === null) return this.redis.bitcount(this.k.audActive(ch));
    const tmp = `${this.k.audNoTopic(ch)}:tmp:${process.pid}:${Date.now()}`;
    await this.redis.bitop('OR', tmp, this.k.audNoTopic(ch), ...topicIds.map((t) => this.k.audTopic(ch, t)));
    await this.redis.bitop('AND', tmp, tmp, this.k.audActive(ch));
    const [[, n]] = (await this.redis.multi().bitcount(tmp).del(tmp).exec()) as [[Error | null, number]];
    return n;
  }

  /** Raw bytes of an alert's audience bitmap from byte `from` (inclusive) to `to` (inclusive). */
  async range(ch: Channel, alertId: string, rev: number, from: number, to: number): Promise<Buffer> {
    return this.redis.getrangeBuffer(this.k.audAlert(ch, alertId, rev), from, to);
  }

  async bytes(ch: Channel, alertId: string, rev: number): Promise<number> {
    return this.redis.strlen(this.k.audAlert(ch, alertId, rev));
  }
}
