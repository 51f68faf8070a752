// The suppression list: addresses never mailed again, whatever their subscription says. One hash,
// address → entry. Entries come only from our own mail coming back (a hard bounce, three soft
// bounces, a complaint, each proven by a signed VERP token or a provider's signed webhook) or from
// an editor, so a stranger cannot make it grow.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import { asciiAddress } from '../email/address';

/** `bounced`: hard bounce (or soft ones in a row); `complained`: marked as spam; `manual`: an editor. */
export type SuppressionReason = 'bounced' | 'complained' | 'manual';
export const SUPPRESSION_REASONS: readonly SuppressionReason[] = ['bounced', 'complained', 'manual'];

export interface Suppression {
  email: string;
  reason: SuppressionReason;
  at: string;
  /** The editor who added it, or the source of the report (`smtp`, `mailgun`, `postmark`, `sendgrid`). */
  by: string;
}

/** The same mailbox whatever the case or the form (Unicode or punycode) of its domain. */
export const addressKey = (email: string): string => asciiAddress(email).toLowerCase();

export class Suppressions {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  /**
   * Adds an entry; an existing one keeps its reason unless the new one is stronger (a complaint
   * outranks a bounce: only an editor may lift it). Returns the entry now in force.
   */
  async add(email: string, reason: SuppressionReason, by: string): Promise<Suppression> {
    const key = addressKey(email);
    const entry: Suppression = { email: key, reason, at: new Date().toISOString(), by };
    const old = await this.get(key);
    if (old && (old.reason !== 'bounced' || reason === 'bounced')) return old;
    await this.redis.hset(this.k.suppressions, key, JSON.stringify({ reason, at: entry.at, by }));
    return entry;
  }

  async get(email: string): Promise<Suppression | null> {
    const key = addressKey(email);
    const raw = await this.redis.hget(this.k.suppressions, key);
    return raw ? entryOf(key, raw) : null;
  }

  /** Which of these addresses are suppressed (one round trip per batch). */
  async suppressed(emails: readonly string[]): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    const keys = emails.map(addressKey);
    const found = await this.redis.hmget(this.k.suppressions, ...keys);
    return new Set(emails.filter((_, i) => found[i] !== null));
  }

  /** Lifts an entry; false when there was none. */
  async release(email: string): Promise<boolean> {
    return (await this.redis.hdel(this.k.suppressions, addressKey(email))) === 1;
  }

  /** A fresh confirmation clears a bounce (the reader proved the mailbox works), never a complaint. */
  async releaseBounce(email: string): Promise<void> {
    const s = await this.get(email);
    if (s?.reason === 'bounced') await this.release(email);
  }

  /** One page of entries (HSCAN order), and the cursor of the next page ('0': the end). */
  async page(cursor: string, count: number): Promise<{ entries: Suppression[]; next: string }> {
    const [next, flat] = await this.redis.hscan(this.k.suppressions, cursor, 'COUNT', count);
    const entries: Suppression[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push(entryOf(flat[i], flat[i + 1]));
    return { entries, next };
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.k.suppressions);
  }
}

function entryOf(email: string, raw: string): Suppression {
  const e = JSON.parse(raw) as Omit<Suppression, 'email'>;
  return { email, reason: e.reason, at: e.at, by: e.by };
}
