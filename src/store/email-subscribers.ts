// Email subscribers: a dense id per address (for bitmaps), a small hash per subscriber, and an
// address index. Only confirmed subscribers are in the `active` audience bitmap, so nothing but
// the confirmation mail can ever reach an unconfirmed address.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { Topics } from './topics';
import type { Audience } from './audience';

export type EmailStatus = 'pending' | 'confirmed' | 'unsubscribed';

export interface EmailSubscriber {
  id: number;
  email: string;
  topics: string[];
  status: EmailStatus;
  createdAt: string;
  confirmedAt?: string;
}

export class EmailSubscribers {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly topics: Topics,
    private readonly audience: Audience,
  ) {}

  /** Records a pending subscription; an existing subscriber is returned unchanged. */
  async requestSubscription(email: string, topics: string[]): Promise<EmailSubscriber> {
    const addr = email.toLowerCase();
    let existing = await this.redis.hget(this.k.emailIndex, addr);
    if (!existing) {
      const fresh = await this.redis.incr(this.k.nextId('email'));
      if (await this.redis.hsetnx(this.k.emailIndex, addr, String(fresh))) {
        const now = new Date().toISOString();
        await this.redis.hset(this.k.emailRecord(fresh), { email, topics: JSON.stringify(topics), status: 'pending', createdAt: now });
        return { id: fresh, email, topics, status: 'pending', createdAt: now };
      }
      existing = await this.redis.hget(this.k.emailIndex, addr);
    }
    const sub = await this.get(Number(existing));
    if (!sub) throw new Error('email index points to a missing subscriber');
    if (sub.status === 'unsubscribed') {
      // Someone asks again after leaving: they must confirm again, with the topics asked now.
      await this.redis.hset(this.k.emailRecord(sub.id), { status: 'pending', topics: JSON.stringify(topics) });
      return { ...sub, status: 'pending', topics };
    }
    return sub;
  }

  async get(id: number): Promise<EmailSubscriber | null> {
    const h = await this.redis.hgetall(this.k.emailRecord(id));
    if (!h.email) return null;
    return {
      id,
      email: h.email,
      topics: JSON.parse(h.topics ?? '[]') as string[],
      status: (h.status ?? 'pending') as EmailStatus,
      createdAt: h.createdAt ?? '',
      ...(h.confirmedAt ? { confirmedAt: h.confirmedAt } : {}),
    };
  }

  async getMany(ids: readonly number[]): Promise<Map<number, EmailSubscriber>> {
    const subs = await Promise.all(ids.map((id) => this.get(id)));
    const out = new Map<number, EmailSubscriber>();
    for (const s of subs) if (s) out.set(s.id, s);
    return out;
  }

  async confirm(id: number): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    if (sub.status !== 'confirmed') {
      const confirmedAt = new Date().toISOString();
      await this.redis.hset(this.k.emailRecord(id), { status: 'confirmed', confirmedAt });
      await this.audience.assign('email', id, await this.topics.ids(sub.topics));
      return { ...sub, status: 'confirmed', confirmedAt };
    }
    return sub;
  }

  async unsubscribe(id: number): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    await this.audience.deactivate('email', id);
    await this.redis.hset(this.k.emailRecord(id), { status: 'unsubscribed' });
    return { ...sub, status: 'unsubscribed' };
  }
}
