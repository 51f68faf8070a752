// Email subscribers: a dense id per address (for bitmaps), a small hash per subscriber, and an
// address index. Only confirmed subscribers are in the `active` audience bitmap, so nothing but
// the confirmation mail can ever reach an unconfirmed, unsubscribed or bounced address.
// Every change of status bumps the record's status version; a confirmation link carries the
// version it was signed with, so only a link mailed since the last change can confirm.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { Topics } from './topics';
import type { Audience } from './audience';
import { asciiAddress } from '../email/address';
import type { QuietGroups } from './quiet';
import type { DailyWindow } from '../config';
import { parseWindow } from '../quiet-hours';
import type { Suppressions } from './suppressions';

// KEYS[1]: a record; ARGV: field, value. Sets it only on a record that exists (an erased one stays gone).
const SET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;
import type { DigestStore } from './digest';
import { parseClock } from '../digest-clock';
import { isLang, type Lang } from '../model';

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
  /** Bumped at every change of status (absent in Redis: 0). */
  statusVersion: number;
  /** Quiet hours follow this clock; Europe/Paris when absent. */
  timeZone?: string;
  /** The subscriber's own quiet window; absent: the newsroom's QUIET_HOURS. */
  quietHours?: DailyWindow;
  /** « Un résumé par jour à HH:MM » on their clock (timeZone); absent: every alert as it goes out. */
  digest?: string;
  /** Emails and pages in this language; absent: the newsroom's default (EMAIL_LANGUAGE). */
  lang?: Lang;
}

/** Quiet-hours preferences, canonical zone and window text (the caller validates them). */
export interface EmailPrefs {
  timeZone?: string;
  quietHours?: string;
  /** "HH:MM", one of DIGEST_TIMES (the caller validates it). */
  digest?: string;
  /** One of LANGUAGES (the caller validates it). */
  lang?: Lang;
}

const DATES = ['confirmedAt', 'unsubscribedAt', 'bouncedAt'] as const;

/** What a confirmation link may move to `confirmed`: never a bounced address (its mailbox is dead). */
const CONFIRMABLE: readonly EmailStatus[] = ['pending', 'unsubscribed'];
/** What the preference page's "come back" may move to `confirmed`. */
const RESUBSCRIBABLE: readonly EmailStatus[] = ['unsubscribed', 'bounced'];

/** How a confirmation link went: `stale` when the record moved on since the link was signed. */
export type ConfirmOutcome = 'confirmed' | 'already' | 'stale' | 'gone';

// Check and move in one step, so two clicks, or a click racing an unsubscribe, cannot both win.
// KEYS[1]: the record. ARGV[1]: now; ARGV[2]: the version the link carries ('' for none to check);
// ARGV[3..]: the statuses that may move. Returns 0 gone, 1 moved, 2 already confirmed, 3 refused.
const ACTIVATE = `
local h = redis.call('HMGET', KEYS[1], 'email', 'status', 'statusVersion')
if not h[1] then return 0 end
local status = h[2] or 'pending'
if status == 'confirmed' then return 2 end
if ARGV[2] ~= '' and ARGV[2] ~= (h[3] or '0') then return 3 end
for i = 3, #ARGV do
  if ARGV[i] == status then
    redis.call('HSET', KEYS[1], 'status', 'confirmed', 'confirmedAt', ARGV[1])
    redis.call('HINCRBY', KEYS[1], 'statusVersion', 1)
    return 1
  end
end
return 3`;

/** The index key: the same mailbox whatever the case or the form (Unicode or punycode) of its domain. */
const indexKey = (email: string) => asciiAddress(email).toLowerCase();

export class EmailSubscribers {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly topics: Topics,
    private readonly audience: Audience,
    private readonly quiet: QuietGroups,
    private readonly digests: DigestStore,
    private readonly suppressions?: Suppressions,
  ) {}

  /** The subscriber id of an address, or null (provider webhooks name addresses, not ids). */
  async idOf(email: string): Promise<number | null> {
    const id = await this.redis.hget(this.k.emailIndex, indexKey(email));
    return id ? Number(id) : null;
  }

  /** A subscriber's language, for a page behind a link (undefined: the default, or gone). */
  async langOf(id: number): Promise<Lang | undefined> {
    const lang = await this.redis.hget(this.k.emailRecord(id), 'lang');
    return isLang(lang) ? lang : undefined;
  }

  /** A new language for emails and pages (the preference page); false when the record is gone. */
  async setLang(id: number, lang: Lang): Promise<boolean> {
    const n = await this.redis.eval(SET_IF_EXISTS, 1, this.k.emailRecord(id), 'lang', lang);
    return Number(n) === 1;
  }

  /**
   * Records a pending subscription. A known address is returned unchanged, whatever its state:
   * a stranger can post anyone's address, so asking never changes topics, preferences or status
   * (the caller may mail a fresh confirmation link; only its click changes anything).
   */
  async requestSubscription(email: string, topics: string[], prefs: EmailPrefs = {}): Promise<EmailSubscriber> {
    await this.topics.resolve(topics); // an unknown topic refuses the request before anything is written
    // The quiet-hours group the address joins at confirmation, made now: past MAX_QUIET_GROUPS
    // the request is refused before anything is stored.
    await this.quiet.groupFor(prefs.timeZone, prefs.quietHours ? (parseWindow(prefs.quietHours) ?? undefined) : undefined);
    // Likewise the digest group (MAX_DIGEST_GROUPS).
    if (prefs.digest !== undefined) await this.digests.groupFor(prefs.timeZone, parseClock(prefs.digest) ?? 0);
    const addr = indexKey(email);
    let existing = await this.redis.hget(this.k.emailIndex, addr);
    if (!existing) {
      const fresh = await this.redis.incr(this.k.nextId('email'));
      if (await this.redis.hsetnx(this.k.emailIndex, addr, String(fresh))) {
        const now = new Date().toISOString();
        await this.redis.hset(this.k.emailRecord(fresh), {
          email,
          topics: JSON.stringify(topics),
          status: 'pending',
          createdAt: now,
          ...defined(prefs),
        });
        return {
          id: fresh,
          email,
          topics,
          status: 'pending',
          createdAt: now,
          statusVersion: 0,
          ...(prefs.lang ? { lang: prefs.lang } : {}),
        };
      }
      existing = await this.redis.hget(this.k.emailIndex, addr);
    }
    const sub = await this.get(Number(existing));
    if (!sub) throw new Error('email index points to a missing subscriber');
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
      statusVersion: Number(h.statusVersion ?? 0),
    };
    for (const d of DATES) if (h[d]) sub[d] = h[d];
    if (h.timeZone) sub.timeZone = h.timeZone;
    const quiet = h.quietHours ? parseWindow(h.quietHours) : null;
    if (quiet) sub.quietHours = quiet;
    if (h.digest && parseClock(h.digest) !== null) sub.digest = h.digest;
    if (isLang(h.lang)) sub.lang = h.lang;
    return sub;
  }

  async getMany(ids: readonly number[]): Promise<Map<number, EmailSubscriber>> {
    const subs = await Promise.all(ids.map((id) => this.get(id)));
    const out = new Map<number, EmailSubscriber>();
    for (const s of subs) if (s) out.set(s.id, s);
    return out;
  }

  /**
   * A confirmation link's click, with the status version the link was signed with: a pending
   * record, or an unsubscribed one that asked to come back, joins the audience, only if nothing
   * changed its status since the link was mailed. A bounced record is never confirmed this way.
   */
  async confirm(id: number, linkVersion: number | undefined): Promise<ConfirmOutcome> {
    // A link signed without a version predates versions: it cannot prove it is recent enough.
    if (linkVersion === undefined) return (await this.get(id)) ? 'stale' : 'gone';
    const outcome = await this.activate(id, CONFIRMABLE, String(linkVersion));
    return outcome === 'moved' ? 'confirmed' : outcome;
  }

  /** What `confirm` would answer, changing nothing (the page behind the link, before its button). */
  async confirmPreview(id: number, linkVersion: number | undefined): Promise<ConfirmOutcome> {
    const sub = await this.get(id);
    if (!sub) return 'gone';
    if (sub.status === 'confirmed') return 'already';
    return linkVersion === sub.statusVersion && CONFIRMABLE.includes(sub.status) ? 'confirmed' : 'stale';
  }

  /** "Come back" from the preference page (its signed link was mailed to this address). */
  async resubscribe(id: number): Promise<EmailSubscriber | null> {
    await this.activate(id, RESUBSCRIBABLE, '');
    return this.get(id);
  }

  private async activate(id: number, from: readonly EmailStatus[], version: string): Promise<'moved' | 'already' | 'stale' | 'gone'> {
    // A complaint (or an editor's entry) is lifted by an editor only; a bounce by this confirmation.
    const held = this.suppressions ? await this.heldBack(id) : null;
    if (held === 'refused') return 'stale';
    const now = new Date().toISOString();
    const r = Number(await this.redis.eval(ACTIVATE, 1, this.k.emailRecord(id), now, version, ...from));
    if (r !== 1) return r === 0 ? 'gone' : r === 2 ? 'already' : 'stale';
    const sub = await this.get(id);
    if (sub?.status === 'confirmed') {
      if (held === 'bounced') await this.suppressions!.releaseBounce(sub.email);
      // not if an unsubscribe came in meanwhile
      await this.quiet.assign('email', id, sub.timeZone, sub.quietHours);
      // Into the digest group before the audience bits: never an instant email to a digest reader.
      await this.digests.moveTo(id, sub.digest === undefined ? null : await this.digests.groupFor(sub.timeZone, parseClock(sub.digest)!));
      // Topics retired since the request are skipped (their bitmaps are gone for good).
      await this.audience.assign('email', id, await this.topics.existingIds(sub.topics));
    }
    return 'moved';
  }

  private async heldBack(id: number): Promise<'refused' | 'bounced' | null> {
    const email = await this.redis.hget(this.k.emailRecord(id), 'email');
    const entry = email ? await this.suppressions!.get(email) : null;
    if (!entry) return null;
    return entry.reason === 'bounced' ? 'bounced' : 'refused';
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
    const key = this.k.emailRecord(id);
    const res = await this.redis
      .multi()
      .hset(key, { status, [status === 'bounced' ? 'bouncedAt' : 'unsubscribedAt']: at })
      .hincrby(key, 'statusVersion', 1) // every confirmation link mailed before now goes stale
      .exec();
    const statusVersion = Number(res?.[1]?.[1] ?? sub.statusVersion + 1);
    return { ...sub, status, statusVersion, ...(status === 'bounced' ? { bouncedAt: at } : { unsubscribedAt: at }) };
  }

  /** New topics; a confirmed subscriber's audience bits move with them at once. */
  async setTopics(id: number, topics: string[]): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    const now = await this.topics.resolve(topics);
    await this.redis.hset(this.k.emailRecord(id), { topics: JSON.stringify(topics) });
    if (sub.status === 'confirmed') {
      const before = await this.topics.existingIds(sub.topics);
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
   * « À chaque alerte » (undefined) or « un résumé par jour à HH:MM »: the reader changes group at
   * once, so the next alert's fan-out already knows. The group first: if it cannot be made
   * (MAX_DIGEST_GROUPS), nothing changes.
   */
  async setDigest(id: number, digest: string | undefined): Promise<EmailSubscriber | null> {
    const sub = await this.get(id);
    if (!sub) return null;
    const group = digest === undefined ? null : await this.digests.groupFor(sub.timeZone, parseClock(digest) ?? 0);
    if (digest !== undefined) await this.redis.hset(this.k.emailRecord(id), { digest });
    else await this.redis.hdel(this.k.emailRecord(id), 'digest');
    const { digest: _old, ...rest } = sub;
    if (sub.status === 'confirmed') await this.digests.moveTo(id, group);
    return digest === undefined ? rest : { ...rest, digest };
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
    await this.digests.moveTo(id, null);
    await this.redis.del(this.k.emailRecord(id));
    // Only if the index still points here: the address may have been re-used since by a new id.
    const indexed = await this.redis.hget(this.k.emailIndex, indexKey(sub.email));
    if (indexed === String(id)) await this.redis.hdel(this.k.emailIndex, indexKey(sub.email));
    return true;
  }
}

const defined = (o: EmailPrefs): Record<string, string> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'));
