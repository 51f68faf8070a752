// Quiet-hours groups. Subscribers who share a time zone and a quiet window form one group, and
// each group is one bitmap per channel ({aud:<channel>}:q:<group>). The fan-out asks, per group,
// "is it quiet there now, and until when?" and ORs the bitmaps of the quiet ones into one mask:
// a few BITOPs per alert whatever the audience size, instead of a lookup per recipient.
// The most common case — Europe/Paris with the newsroom's default window — has no bitmap at all:
// it is everyone who is in no other group, so existing subscribers need no migration and the
// bulk of a French audience costs no memory.
import type { DailyWindow } from '../config';
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { Audience } from './audience';
import { DEFAULT_TIME_ZONE, windowEnd, windowText } from '../quiet-hours';
import { orInto } from '../bits';
import type { Channel } from '../model';

export interface QuietGroup { id: number; timeZone: string; window: DailyWindow | null }

const ASSIGN_ID = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then
  id = redis.call('HINCRBY', KEYS[1], '#next', 1)
  redis.call('HSET', KEYS[1], ARGV[1], id)
end
return tonumber(id)`;

// Clears the subscriber's bit in every group bitmap but the target (index ARGV[2], 0 = none), and
// sets it there. GETBIT first: SETBIT 0 on a missing key would allocate a string of zeros.
const MOVE = `
local target = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  if i == target then redis.call('SETBIT', key, ARGV[1], 1)
  elseif redis.call('GETBIT', key, ARGV[1]) == 1 then redis.call('SETBIT', key, ARGV[1], 0) end
end
return 0`;

export class QuietGroups {
  constructor(private readonly redis: RedisClient, private readonly k: Keys, private readonly audience: Audience) {}

  /** Puts a subscriber in the group of its time zone and window (undefined: the newsroom's). */
  async assign(ch: Channel, id: number, timeZone: string | undefined, window: DailyWindow | undefined): Promise<void> {
    const tz = timeZone ?? DEFAULT_TIME_ZONE;
    const name = `${tz}|${window ? windowText(window) : 'default'}`;
    const isDefault = tz === DEFAULT_TIME_ZONE && !window;
    const target = isDefault ? null : Number(await this.redis.eval(ASSIGN_ID, 1, this.k.quietGroups, name));
    const groups = await this.groupIds();
    if (target !== null && !groups.includes(target)) groups.push(target);
    if (groups.length === 0) return;
    const keys = groups.map((g) => this.k.audQuiet(ch, g));
    await this.redis.eval(MOVE, keys.length, ...keys, id, target === null ? 0 : groups.indexOf(target) + 1);
  }

  async groups(): Promise<QuietGroup[]> {
    const h = await this.redis.hgetall(this.k.quietGroups);
    return Object.entries(h).filter(([name]) => !name.startsWith('#')).map(([name, id]) => {
      const [timeZone, w] = name.split('|') as [string, string];
      return { id: Number(id), timeZone, window: w === 'default' ? null : parseCanonical(w) };
    });
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
      const end = w ? windowEnd(g.timeZone, w, now) : null;
      if (end !== null) byEnd.set(end, [...(byEnd.get(end) ?? []), this.k.audQuiet(ch, g.id)]);
    }
    const out = new Map<number, Buffer>();
    for (const [end, keys] of byEnd) out.set(end, await this.audience.combine(ch, 'OR', keys));
    const defaultEnd = defaultWindow ? windowEnd(DEFAULT_TIME_ZONE, defaultWindow, now) : null;
    if (defaultEnd !== null) {
      // The default group is everyone in no other group: the complement of their union, as long
      // as the channel's active bitmap (nobody beyond it can be in an audience).
      const others = await this.audience.combine(ch, 'OR', groups.map((g) => this.k.audQuiet(ch, g.id)));
      const len = await this.redis.strlen(this.k.audActive(ch));
      const mask = Buffer.alloc(len, 0xff);
      for (let i = 0; i < Math.min(len, others.length); i++) mask[i] = ~others[i]! & 0xff;
      out.set(defaultEnd, orInto(out.get(defaultEnd), mask));
    }
    return out;
  }

  private async groupIds(): Promise<number[]> {
    return (await this.groups()).map((g) => g.id);
  }
}

function parseCanonical(w: string): DailyWindow {
  const [a, b] = w.split('-') as [string, string];
  const s = (t: string) => t.split(':').reduce((acc, x) => acc * 60 + Number(x), 0);
  return { start: s(a), end: s(b) };
}
