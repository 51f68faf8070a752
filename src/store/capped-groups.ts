// Capped membership groups, shared by quiet hours (quiet.ts) and daily digests (digest.ts). A group
// is named by something the newsroom controls (a canonical time zone and a window or a time) and
// gets a small integer id in one hash; its members are one bitmap. Each bitmap is as long as its
// highest member id (1 MB at 8 M subscribers), so the number of groups is capped: past the cap a
// new group is refused before anything else is stored. Each member's group is recorded (id → group,
// 512 to a hash), so a move touches the old group's bitmap and the new one's, never every group.
import type { RedisClient } from './redis';
import type { Logger } from '../log';
import { CapacityReached } from '../errors';

// The group's id, the group created while fewer than ARGV[2] exist; 0 when full. Fields starting
// with # are the hash's own marks (#next, and quiet-upgrade.ts's #members), not groups.
const GROUP_ID = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then return tonumber(id) end
local marks = redis.call('HEXISTS', KEYS[1], '#next') + redis.call('HEXISTS', KEYS[1], '#members')
if redis.call('HLEN', KEYS[1]) - marks >= tonumber(ARGV[2]) then return 0 end
id = redis.call('HINCRBY', KEYS[1], '#next', 1)
redis.call('HSET', KEYS[1], ARGV[1], id)
return id`;

// Moves member ARGV[1] from group ARGV[2] to ARGV[3] ('' = no group, no bitmap): its member entry
// (KEYS[1]), the old bitmap (KEYS[2]) and the new one (KEYS[3]); when given, KEYS[4] is a bitmap
// of everyone in any group, kept in step. Returns -1, changing nothing, when the entry no longer
// names ARGV[2] (a concurrent move): the caller reads again. GETBIT before clearing: SETBIT 0 on a
// short or missing key would allocate zeros.
const MOVE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return -1 end
if cur ~= '' and redis.call('GETBIT', KEYS[2], ARGV[1]) == 1 then redis.call('SETBIT', KEYS[2], ARGV[1], 0) end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  if KEYS[4] and redis.call('GETBIT', KEYS[4], ARGV[1]) == 1 then redis.call('SETBIT', KEYS[4], ARGV[1], 0) end
else
  redis.call('SETBIT', KEYS[3], ARGV[1], 1)
  if KEYS[4] then redis.call('SETBIT', KEYS[4], ARGV[1], 1) end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1`;

export interface CappedGroupsSpec {
  /** The hash name → id. */
  groups: string;
  /** The bitmap of one group's members. */
  bitmap: (groupId: number) => string;
  /** The hash recording each member's group, for the member's bucket (same slot as the bitmaps). */
  members: (id: number) => string;
  /** A bitmap of every member of any group, kept in step with the moves (same slot). */
  everyone?: string;
  maxGroups: number;
  /** What a refusal says: the error's code and message, and the operator's warning (once a minute). */
  full: { code: string; message: string; warning: string };
  /** Names the member in the error of a move that kept losing races. */
  what: string;
  log?: Logger;
}

export class CappedGroups {
  private lastFullWarning = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly spec: CappedGroupsSpec,
  ) {}

  /** The id of the group of this name, created if there is room; throws CapacityReached, creating nothing. */
  async idOf(name: string): Promise<number> {
    const { groups, maxGroups, full, log } = this.spec;
    const id = Number(await this.redis.eval(GROUP_ID, 1, groups, name, maxGroups));
    if (id !== 0) return id;
    if (Date.now() - this.lastFullWarning > 60_000) {
      this.lastFullWarning = Date.now();
      log?.warn({ maxGroups }, full.warning);
    }
    throw new CapacityReached(full.code, full.message);
  }

  /** Moves a member to group `target` (null: no group): one read and one script. */
  async moveTo(id: number, target: number | null): Promise<void> {
    const members = this.spec.members(id);
    const to = target === null ? '' : String(target);
    const everyone = this.spec.everyone === undefined ? [] : [this.spec.everyone];
    for (let attempt = 0; attempt < 5; attempt++) {
      const from = (await this.redis.hget(members, String(id))) ?? '';
      if (from === to) return;
      // An absent side stands in as the member hash itself (same slot, never written as a bitmap).
      const oldKey = from === '' ? members : this.spec.bitmap(Number(from));
      const newKey = to === '' ? members : this.spec.bitmap(Number(to));
      const keys = [members, oldKey, newKey, ...everyone];
      if (Number(await this.redis.eval(MOVE, keys.length, ...keys, id, from, to)) !== -1) return;
    }
    throw new Error(`the group of ${this.spec.what} ${id} kept changing during a move`);
  }

  /** The group a member is in; null: none. */
  async groupOf(id: number): Promise<number | null> {
    const g = await this.redis.hget(this.spec.members(id), String(id));
    return g ? Number(g) : null;
  }

  /** Every group: [name, id]. */
  async list(): Promise<[string, number][]> {
    const h = await this.redis.hgetall(this.spec.groups);
    return Object.entries(h)
      .filter(([name]) => !name.startsWith('#'))
      .map(([name, id]) => [name, Number(id)]);
  }
}
