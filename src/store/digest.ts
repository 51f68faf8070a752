// Daily-digest groups and their bookkeeping. Email readers who chose « un résumé par jour à HH:MM »
// form one group per (time zone, time of day), one bitmap each ({aud:email}:dg:<group>), plus one
// bitmap of every digest reader that the fan-out takes out of each alert's email audience: digest
// readers cost the instant path a single ANDNOT, not a lookup per recipient. Groups are capped
// (MAX_DIGEST_GROUPS) and only come from canonical zones and the newsroom's DIGEST_TIMES; the
// capped membership itself is capped-groups.ts's, shared with quiet hours.
// "At most one digest per reader per local day" is one bitmap per day, set before the send: a
// worker that dies mid-send leaves the bit set, so a crash can cost a reader one digest but never
// send it twice. Each run (a due minute) counts its outcomes in bitmaps, once per reader.
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';
import type { Logger } from '../log';
import { CappedGroups } from './capped-groups';
import { canonicalTimeZone, DEFAULT_TIME_ZONE } from '../quiet-hours';
import { clockText, parseClock } from '../digest-clock';

export interface DigestGroup {
  id: number;
  timeZone: string;
  /** Minute of the local day (450 = 07:30). */
  minute: number;
}

/** What one run (a due minute) did; `pending`: not settled — still to send, or claimed by a worker that stopped before the answer. */
export interface DigestRunFigures {
  at: string;
  groups: number;
  targeted: number;
  sent: number;
  failed: number;
  bounced: number;
  empty: number;
  /** On the suppression list: claimed for the day and not mailed. */
  suppressed: number;
  pending: number;
}

export type DigestOutcome = 'sent' | 'failed' | 'bounced' | 'empty' | 'suppressed';
export const DIGEST_OUTCOMES: readonly DigestOutcome[] = ['sent', 'failed', 'bounced', 'empty', 'suppressed'];

/** A day's claim bitmap outlives the local day everywhere (UTC-12 to UTC+14), then goes. */
const CLAIM_TTL_SECONDS = 3 * 86_400;
const RUN_TTL_SECONDS = 8 * 86_400;

// 1 when this call claimed the reader's day (the bit was 0), 0 when it was claimed already.
const CLAIM = `
local old = redis.call('SETBIT', KEYS[1], ARGV[1], 1)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1 - old`;

// Outcome bits of a run; the counter moves only for bits that flipped, so replays count once.
const RECORD = `
local n = 0
for i = 3, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then n = n + 1 end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if n > 0 then redis.call('HINCRBY', KEYS[2], ARGV[1], n) end
return n`;

// Moves the cursor (the last minute ticked) forward only; returns the previous value ('' if none).
const ADVANCE = `
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return cur or ''`;

export const digestGroupName = (timeZone: string, minute: number) => `${timeZone}|${clockText(minute)}`;

export class DigestStore {
  private readonly capped: CappedGroups;

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    limits: { maxGroups: number; log?: Logger },
  ) {
    this.capped = new CappedGroups(redis, {
      groups: k.digestGroups,
      bitmap: (g) => k.audDigest(g),
      members: (id) => k.audDigestMembers(id >> BUCKET_BITS),
      everyone: k.audDigestReaders,
      maxGroups: limits.maxGroups,
      full: {
        code: 'digest_groups_full',
        message: 'no room for another daily-digest group (time zone and time); choose another time or later',
        warning: 'digest groups are full (MAX_DIGEST_GROUPS): digest choices that need a new group are refused',
      },
      what: 'email subscriber (digest)',
      ...(limits.log ? { log: limits.log } : {}),
    });
  }

  /** The group of this zone and time, created if needed; throws CapacityReached, creating nothing, when full. */
  async groupFor(timeZone: string | undefined, minute: number): Promise<number> {
    const tz = (timeZone === undefined ? null : canonicalTimeZone(timeZone)) ?? DEFAULT_TIME_ZONE;
    return this.capped.idOf(digestGroupName(tz, minute));
  }

  /** Moves a reader to group `target` (null: instant emails), keeping the all-readers bitmap in step. */
  async moveTo(id: number, target: number | null): Promise<void> {
    await this.capped.moveTo(id, target);
  }

  async groupOf(id: number): Promise<number | null> {
    return this.capped.groupOf(id);
  }

  async groups(): Promise<DigestGroup[]> {
    return (await this.capped.list()).map(([name, id]) => {
      const [timeZone, time] = name.split('|') as [string, string];
      return { id, timeZone, minute: parseClock(time) ?? 0 };
    });
  }

  /** Every digest reader, as a bitmap (the fan-out removes them from email audiences). */
  async readers(): Promise<Buffer> {
    return (await this.redis.getBuffer(this.k.audDigestReaders)) ?? Buffer.alloc(0);
  }

  /** Active members of a group right now (one BITOP in the audience slot). */
  async activeMembers(groupId: number): Promise<Buffer> {
    const tmp = this.k.audTmp('email', `dg${process.pid}${Math.random().toString(36).slice(2, 10)}`);
    const res = await this.redis
      .multi()
      .bitop('AND', tmp, this.k.audDigest(groupId), this.k.audActive('email'))
      .getBuffer(tmp)
      .del(tmp)
      .exec();
    return (res?.[1]?.[1] as Buffer | null) ?? Buffer.alloc(0);
  }

  /** A block of a group, read now: its members, who is active, and whose day is claimed. */
  async block(
    groupId: number,
    date: string,
    fromByte: number,
    toByte: number,
  ): Promise<{ members: Buffer; active: Buffer; claimed: Buffer }> {
    const [members, active, claimed] = await Promise.all([
      this.redis.getrangeBuffer(this.k.audDigest(groupId), fromByte, toByte),
      this.redis.getrangeBuffer(this.k.audActive('email'), fromByte, toByte),
      this.redis.getrangeBuffer(this.k.digestClaimed(date), fromByte, toByte),
    ]);
    return { members, active, claimed };
  }

  /** Claims a reader's local day before its digest is sent; false: already handled that day. */
  async claim(date: string, id: number): Promise<boolean> {
    return Number(await this.redis.eval(CLAIM, 1, this.k.digestClaimed(date), id, CLAIM_TTL_SECONDS)) === 1;
  }

  /** Gives a day back when the send surely did not happen (a refused connection, a 4xx): a retry may send. */
  async unclaim(date: string, id: number): Promise<void> {
    await this.redis.setbit(this.k.digestClaimed(date), id, 0);
  }

  async record(at: number, kind: DigestOutcome, ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const keys = [this.k.digestRunBits(at, kind), this.k.digestRunStats(at)];
    return Number(await this.redis.eval(RECORD, 2, ...keys, kind, RUN_TTL_SECONDS, ...ids));
  }

  /** A group's run started: how many it targets (set, not added, so a replayed group job counts once). */
  async runStarted(at: number, groupId: number, targeted: number): Promise<void> {
    const stats = this.k.digestRunStats(at);
    await this.redis.multi().hset(stats, `t:${groupId}`, targeted).expire(stats, RUN_TTL_SECONDS).exec();
    await this.redis.multi().zadd(this.k.digestRuns, at, String(at)).zremrangebyrank(this.k.digestRuns, 0, -51).exec();
  }

  /** Every reader whose local day `date` is claimed. */
  async claimedDay(date: string): Promise<Buffer> {
    return (await this.redis.getBuffer(this.k.digestClaimed(date))) ?? Buffer.alloc(0);
  }

  /** The last minute the tick handled (ms); null before the first tick. */
  async cursor(): Promise<number | null> {
    const v = await this.redis.get(this.k.digestCursor);
    return v === null ? null : Number(v);
  }

  /** The last minute the tick handled (ms), moved to `to` if later; null the first time. */
  async advanceCursor(to: number): Promise<number | null> {
    const prev = String(await this.redis.eval(ADVANCE, 1, this.k.digestCursor, to));
    return prev === '' ? null : Number(prev);
  }

  /** The figures of the latest run that had readers, or null. */
  async lastRun(): Promise<DigestRunFigures | null> {
    const [latest] = await this.redis.zrevrange(this.k.digestRuns, 0, 0);
    if (latest === undefined) return null;
    const at = Number(latest);
    const h = await this.redis.hgetall(this.k.digestRunStats(at));
    const groups = Object.keys(h).filter((f) => f.startsWith('t:'));
    const n = (f: string) => Number(h[f] ?? 0);
    const figures = Object.fromEntries(DIGEST_OUTCOMES.map((kind) => [kind, n(kind)])) as Record<DigestOutcome, number>;
    const targeted = groups.reduce((sum, f) => sum + n(f), 0);
    const settled = DIGEST_OUTCOMES.reduce((sum, kind) => sum + figures[kind], 0);
    return { at: new Date(at).toISOString(), groups: groups.length, targeted, ...figures, pending: Math.max(0, targeted - settled) };
  }
}
