// Quiet-hours groups. Subscribers who share a time zone and a quiet window form one group, and
// each group is one bitmap per channel ({aud:<channel>}:q:<group>). The fan-out asks, per group,
// "is it quiet there now, and until when?" and ORs the bitmaps of the quiet ones into one mask:
// a few BITOPs per alert whatever the audience size, instead of a lookup per recipient.
// The most common case — Europe/Paris with the newsroom's default window — has no bitmap at all:
// it is everyone who is in no other group, so existing subscribers need no migration and the
// bulk of a French audience costs no memory.
// Each group's bitmap is as long as its highest member id (1 MB at 8 M subscribers), so groups
// are capped (MAX_QUIET_GROUPS) and only come from canonical zones and the newsroom's windows
// (checked by the schemas). Each subscriber's group is also recorded (audQuietMembers), so a move
// touches the old group's bitmap and the new one's, never every group.
import type { DailyWindow } from '../config';
import { BUCKET_BITS, type Keys } from './keys';
import type { RedisClient } from './redis';
import type { Audience } from './audience';
import type { Logger } from '../log';
import { canonicalTimeZone, DEFAULT_TIME_ZONE, windowEnd, windowText } from '../quiet-hours';
import { orInto } from '../bits';
import type { Channel } from '../model';
import { upgradeGroups } from './quiet-upgrade';
import { CappedGroups } from './capped-groups';
import { CHANNELS } from '../model';

export interface QuietGroup {
  id: number;
  timeZone: string;
  window: DailyWindow | null;
}
/** windows: QUIET_WINDOWS, for the upgrade of older groups (undefined: every window is kept). */
export interface QuietLimits {
  maxGroups: number;
  windows?: readonly DailyWindow[];
  log?: Logger;
}
export interface QuietChoice {
  timeZone?: string;
  window?: DailyWindow;
}

/** "Europe/Paris|22:00:00-08:00:00", or "…|default" for the newsroom's window: a group's name. */
export const groupName = (timeZone: string, window: DailyWindow | null | undefined) =>
  `${timeZone}|${window ? windowText(window) : 'default'}`;

export class QuietGroups {
  /** One set of groups (one names hash), a bitmap and a member record per channel. */
  private readonly byChannel: Record<Channel, CappedGroups>;

  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly audience: Audience,
    private readonly limits: QuietLimits,
  ) {
    const of = (ch: Channel) =>
      new CappedGroups(redis, {
        groups: k.quietGroups,
        bitmap: (g) => k.audQuiet(ch, g),
        members: (id) => k.audQuietMembers(ch, id >> BUCKET_BITS),
        maxGroups: limits.maxGroups,
        full: {
          code: 'quiet_groups_full',
          message: 'no room for another quiet-hours group (time zone and window); try without quietHours or later',
          warning: 'quiet-hours groups are full (MAX_QUIET_GROUPS): subscriptions that need a new group are refused',
        },
        what: `${ch} subscriber (quiet hours)`,
        ...(limits.log ? { log: limits.log } : {}),
      });
    this.byChannel = Object.fromEntries(CHANNELS.map((ch) => [ch, of(ch)])) as Record<Channel, CappedGroups>;
  }

  /**
   * The id of the group of this time zone and window, created if needed; null for the default
   * group (Paris, the newsroom's window). Throws CapacityReached, creating nothing, when a new
   * group would pass MAX_QUIET_GROUPS: callers ask before they store anything else.
   */
  async groupFor(timeZone: string | undefined, window: DailyWindow | undefined): Promise<number | null> {
    // A zone stored before zones were checked against this runtime's list may be unknown to it:
    // its subscriber keeps the default clock rather than failing.
    const tz = (timeZone === undefined ? null : canonicalTimeZone(timeZone)) ?? DEFAULT_TIME_ZONE;
    if (tz === DEFAULT_TIME_ZONE && !window) return null;
    // The names hash is shared by the channels: any channel's instance creates the group.
    return this.byChannel.email.idOf(groupName(tz, window));
  }

  /** groupFor of many choices, one script per distinct group (the import's batches). */
  async groupsFor(choices: readonly QuietChoice[]): Promise<(number | null)[]> {
    const asked = new Map<string, Promise<number | null>>();
    return Promise.all(
      choices.map((c) => {
        const key = `${c.timeZone ?? ''}|${c.window ? windowText(c.window) : ''}`;
        let p = asked.get(key);
        if (!p) {
          p = this.groupFor(c.timeZone, c.window);
          asked.set(key, p);
        }
        return p;
      }),
    );
  }

  /** Puts a subscriber in the group of its time zone and window (undefined: the newsroom's). */
  async assign(ch: Channel, id: number, timeZone: string | undefined, window: DailyWindow | undefined): Promise<void> {
    await this.moveTo(ch, id, await this.groupFor(timeZone, window));
  }

  /** Takes a subscriber out of any group (back to the default one). */
  async leave(ch: Channel, id: number): Promise<void> {
    await this.moveTo(ch, id, null);
  }

  /** The group a subscriber is in; null: the default group. */
  async groupOf(ch: Channel, id: number): Promise<number | null> {
    return this.byChannel[ch].groupOf(id);
  }

  /** Moves a subscriber to group `target` (null: the default group): one read and one script. */
  async moveTo(ch: Channel, id: number, target: number | null): Promise<void> {
    await this.byChannel[ch].moveTo(id, target);
  }

  async groups(): Promise<QuietGroup[]> {
    return (await this.byChannel.email.list()).map(([name, id]) => {
      const [timeZone, w] = name.split('|') as [string, string];
      return { id, timeZone, window: w === 'default' ? null : parseCanonical(w) };
    });
  }

  /** Brings groups made by an older version up to date (start-up; see quiet-upgrade.ts). */
  async upgrade(log: Logger): Promise<void> {
    await upgradeGroups(this.redis, this.k, log, this.limits);
  }

  /**
   * Who is in quiet hours right now on this channel, grouped by the instant their window ends:
   * end (ms) → bitmap of subscriber ids. Empty when nobody is.
   */
  async quietNow(ch: Channel, defaultWindow: DailyWindow | undefined, now = Date.now()): Promise<Map<number, Buffer>> {
    const groups = await this.groups();
    const byEnd = new Map<number, string[]>();
    for (const g of groups) {
      const w = g.window ?? defaultWindow;
      const end = w ? windowEnd(canonicalTimeZone(g.timeZone) ?? DEFAULT_TIME_ZONE, w, now) : null;
      if (end !== null) byEnd.set(end, [...(byEnd.get(end) ?? []), this.k.audQuiet(ch, g.id)]);
    }
    const out = new Map<number, Buffer>();
    for (const [end, keys] of byEnd) out.set(end, await this.audience.combine(ch, 'OR', keys));
    const defaultEnd = defaultWindow ? windowEnd(DEFAULT_TIME_ZONE, defaultWindow, now) : null;
    if (defaultEnd !== null) {
      // The default group is everyone in no other group: the complement of their union, as long
      // as the channel's active bitmap (nobody beyond it can be in an audience).
      const others = await this.audience.combine(
        ch,
        'OR',
        groups.map((g) => this.k.audQuiet(ch, g.id)),
      );
      const len = await this.redis.strlen(this.k.audActive(ch));
      const mask = Buffer.alloc(len, 0xff);
      for (let i = 0; i < Math.min(len, others.length); i++) mask[i] = ~others[i] & 0xff;
      out.set(defaultEnd, orInto(out.get(defaultEnd), mask));
    }
    return out;
  }
}

function parseCanonical(w: string): DailyWindow {
  const [a, b] = w.split('-') as [string, string];
  const s = (t: string) => t.split(':').reduce((acc, x) => acc * 60 + Number(x), 0);
  return { start: s(a), end: s(b) };
}
