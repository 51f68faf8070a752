// Email subscribers: a dense id per address (for bitmaps), a small hash per subscriber, and an
// address index. Only confirmed subscribers are in the `active` audience bitmap, so nothing but
// the confirmation mail can ever reach an unconfirmed, unsubscribed or bounced address.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { Topics } from './topics';
import type { Audience } from './audience';
import { asciiAddress } from '../email/address';
import type { QuietGroups } from './quiet';
import type { DailyWindow } from '../config';
import { parseWindow } from '../quiet-hours';

/** `bounced`: the receiving server refused the address for good (5xx on RCPT); never mailed again. */
export type EmailStatus = 'pending' | 'confirmed' | 'unsubscribed' | 'bounced';

export interface EmailSubscriber {
  id: number;
  email: string;
  topics: string[];
  status: EmailStatus;
  createdAt: string;
  confirmedAt?: string;
  unsubscribedAt?: string;
  bouncedAt?: string;
  /** Quiet hours follow this clock; Europe/Paris when absent. */
  timeZone?: string;
  /** The subscriber's own quiet window; absent: the newsroom's QUIET_HOURS. */
  quietHours?: DailyWindow;
}

/** Quiet-hours preferences, canonical zone and window text (the caller validates them). */
export interface EmailPrefs { timeZone?: string; quietHours?: string }

const DATES = ['confirmedAt', 'unsubscribedAt', 'bouncedAt'] as const;

/** The index key: the same mailbox whatever the case or the form (Unicode or punycode) of its domain. */
const indexKey = (email: string) => asciiAddress(email).toLowerCase();

export class EmailSubscribers {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly topics: Topics,
    private readonly audience: Audience,
    private readonly quiet: QuietGroups,
  ) {}

  /** Records a pending subscription; an existing subscriber is returned unchanged. */
  async requestSubscription(email: string, topics: string[], prefs: EmailPrefs = {}): Promise<EmailSubscriber> {
    // The quiet-hours group the address joins at confirmation, made now: past MAX_QUIET_GROUPS
    // the request is refused before anything is stored.
    await this.quiet.groupFor(prefs.timeZone, prefs.quietHours ? parseWindow(prefs.quietHours) ?? undefined : undefined);
    const addr = indexKey(email);
    let existing = await this.redis.hget(this.k.emailIndex, addr);
    if (!existing) {
      const fresh = await this.redis.incr(this.k.nextId('email'));
      if (await this.redis.hsetnx(this.k.emailIndex, addr, String(fresh))) {
        const now = new Date().toISOString();
        await this.redis.hset(this.k.emailRecord(fresh), { email, topics: JSON.stringify(topics), status: 'pending', createdAt: now, ...defined(prefs) });
        return { id: fresh, email, topics, status: 'pending', createdAt: now };
      }
      existing = await this.redis.hget(this.k.emailIndex, addr);
    }
    const sub = await this.get(Number(existing));
    if (!sub) throw new Error('email index points to a missing subscriber');
    if (sub.status === 'unsubscribed' || sub.status === 'bounced') {
      // Someone asks again after leaving (or after their mailbox came back): they must confirm
      // again, with the topics asked now.
      await this.redis.hset(this.k.emailRecord(sub.id), { status: 'pending', topics: JSON.stringify(topics), ...defined(prefs) });
      return { ...sub, status: 'pending', topics };
    }
    return sub;
  }

  async get(id: number): Promise<EmailSubscriber | null> {
    const h = await this.redis.hgetall(this.k.emailRecord(id));
    if (!h.email) return null;
    const sub: EmailSubscriber = {
      id,
      email: h.email,
      topics: JSON.parse(h.topics ?? '[]') as string[],
      status: (h.status ?? 'pending') as EmailStatus,
      createdAt: h.createdAt ?? '',
    };
    for (const d of DATES) if (h[d]) sub[d] = h[d];
    if (h.timeZone) sub.timeZone = h.timeZone;
    const quiet = h.quietHours ? parseWindow(h.quietHours) : null;
    if (quiet) sub.quietHours = quiet;
    return sub;
  }

  async getMany(ids: readonly number[]): Promise<Map<number, EmailSubscriber>> {
    const subs = await Promise.all(ids.map((id) => this.get(id)));
    const out = new Map<number, EmailSubscriber>();
    for (const s of subs) if (s) out.set(s.id, s);
    return out;
  }

  /** Confirms (or re-activates after an unsubscribe or a bounce): the subscriber joins the audience. */
  async confirm(id: number): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    if (sub.status !== 'confirmed') {
      const confirmedAt = new Date().toISOString();
      await this.redis.hset(this.k.emailRecord(id), { status: 'confirmed', confirmedAt });
      await this.quiet.assign('email', id, sub.timeZone, sub.quietHours);
      await this.audience.assign('email', id, await this.topics.ids(sub.topics));
      return { ...sub, status: 'confirmed', confirmedAt };
    }
    return sub;
  }

  async unsubscribe(id: number): Promise<EmailSubscriber | null> {
    return this.leave(id, 'unsubscribed');
  }

  /** A hard bounce: suppressed at once, so no later alert tries the address again. */
  async markBounced(id: number): Promise<EmailSubscriber | null> {
    return this.leave(id, 'bounced');
  }

  private async leave(id: number, status: 'unsubscribed' | 'bounced'): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    await this.audience.deactivate('email', id);
    const at = new Date().toISOString();
    await this.redis.hset(this.k.emailRecord(id), { status, [status === 'bounced' ? 'bouncedAt' : 'unsubscribedAt']: at });
    return { ...sub, status, ...(status === 'bounced' ? { bouncedAt: at } : { unsubscribedAt: at }) };
  }

  /** New topics; a confirmed subscriber's audience bits move with them at once. */
  async setTopics(id: number, topics: string[]): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    await this.redis.hset(this.k.emailRecord(id), { topics: JSON.stringify(topics) });
    if (sub.status === 'confirmed') {
      const [now, before] = await Promise.all([this.topics.ids(topics), this.topics.existingIds(sub.topics)]);
      await this.audience.assign('email', id, now, before);
    }
    return { ...sub, topics };
  }

  /** The subscriber's own quiet window (undefined: the newsroom's); they change group at once. */
  async setQuietHours(id: number, window: string | undefined): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    const parsed = window ? parseWindow(window) : null;
    // The group first: if it cannot be made (MAX_QUIET_GROUPS), nothing changes.
    const group = await this.quiet.groupFor(sub.timeZone, parsed ?? undefined);
    if (parsed) await this.redis.hset(this.k.emailRecord(id), { quietHours: window! });
    else await this.redis.hdel(this.k.emailRecord(id), 'quietHours');
    const { quietHours: _old, ...rest } = sub;
    const next: EmailSubscriber = parsed ? { ...rest, quietHours: parsed } : rest;
    if (sub.status === 'confirmed') await this.quiet.moveTo('email', id, group);
    return next;
  }

  /**
   * GDPR erasure: the record, the address index entry and every audience bit
   * go. Ids are never reused, so links still pointing at this id lead nowhere.
   */
  async erase(id: number): Promise<boolean> {
    const sub = await this.get(id);
    if (!sub) return false;
    await this.audience.clear('email', id, await this.topics.existingIds(sub.topics));
    await this.quiet.leave('email', id);
    await this.redis.del(this.k.emailRecord(id));
    // Only if the index still points here: the address may have been re-used since by a new id.
    const indexed = await this.redis.hget(this.k.emailIndex, indexKey(sub.email));
    if (indexed === String(id)) await this.redis.hdel(this.k.emailIndex, indexKey(sub.email));
    return true;
  }
}

const defined = (o: EmailPrefs): Record<string, string> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
