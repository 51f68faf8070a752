// Soft bounces « three in a row ». A 4.x.x report says « not now », so one is no reason to stop
// mailing; three messages in a row that soft-bounced, with none accepted in between, are. « In a
// row » is in the order the messages were sent (their revision's publication time), not the order
// reports arrive: a relay may report a message hours after the next one left.
// Only readers with a soft bounce on record have a log (message → its order and whether it
// bounced), and one bitmap says who they are. A batch reads that bitmap once (one GETRANGE over
// its block) and writes only for the few readers in it, so the success path costs no
// per-recipient write. An accepted message joins the log, and breaks the row unless it bounces
// later; once three sends in a row were accepted, the log and the bit go.
import type { Keys } from './keys';
import type { RedisClient } from './redis';

/** Soft bounces in a row after which an address is suppressed like a hard bounce. */
export const SOFT_BOUNCE_LIMIT = 3;
/** Messages kept in a reader's log: enough to see a row of SOFT_BOUNCE_LIMIT among late reports. */
const KEEP = 8;
/** A log with no soft bounce for this long is forgotten (the mailbox has had time to recover). */
const TTL_SECONDS = 30 * 86_400;

// Shared by both scripts: the log's entries sorted by send order, trimmed to the newest ARGV[3].
// A field is "<alert>:<rev>", its value "<order ms>:<1 bounced | 0 accepted>".
const SORTED = `
local h = redis.call('HGETALL', KEYS[1])
local e = {}
for i = 1, #h, 2 do
  local t, s = string.match(h[i + 1], '^(%d+):(%d)$')
  e[#e + 1] = { tonumber(t), s, h[i] }
end
table.sort(e, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[3] < b[3] end)
local keep = tonumber(ARGV[3])
while #e > keep do redis.call('HDEL', KEYS[1], e[1][3]); table.remove(e, 1) end
`;

// A soft bounce of message ARGV[1] sent at ARGV[2]. ARGV[4] '1': the reader had no bit, so any
// log left is stale (see `bounced`). Returns the longest row of bounced messages in the log.
const BOUNCE = `
if ARGV[4] == '1' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':1')
redis.call('EXPIRE', KEYS[1], ARGV[5])
${SORTED}
local run, best = 0, 0
for i = 1, #e do
  if e[i][2] == '1' then run = run + 1; if run > best then best = run end else run = 0 end
end
return best`;

// Message ARGV[1] sent at ARGV[2] was accepted. Returns 1 when the reader has nothing left on
// record (the caller clears its bit): no log, or the newest ARGV[4] messages all accepted.
const ACCEPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2] .. ':0')
${SORTED}
local ok = 0
for i = #e, 1, -1 do
  if e[i][2] == '0' then ok = ok + 1 else break end
end
if ok >= tonumber(ARGV[4]) then redis.call('DEL', KEYS[1]); return 1 end
return 0`;

/** One message to one reader: its alert revision and when that revision went out (ms). */
export interface SentMessage {
  ref: string;
  sentAt: number;
}

export class SoftBounces {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {}

  /** Which of these ids (one batch's, close together) have soft bounces on record: one read. */
  async holders(ids: readonly number[]): Promise<Set<number>> {
    const out = new Set<number>();
    if (ids.length === 0) return out;
    const lo = Math.min(...ids) >> 3;
    const bits = await this.redis.getrangeBuffer(this.k.emailSoftStrikes, lo, Math.max(...ids) >> 3);
    for (const id of ids) if ((bits[(id >> 3) - lo] ?? 0) & (0x80 >> (id & 7))) out.add(id);
    return out;
  }

  /**
   * A soft bounce of one message; returns how many messages in a row have now soft-bounced. The
   * bit is set first: if it was not set, a log left behind (a race with `accepted` clearing it) is
   * dropped, so the row can only be undercounted, never made up.
   */
  async bounced(id: number, m: SentMessage): Promise<number> {
    const had = await this.redis.setbit(this.k.emailSoftStrikes, id, 1);
    const log = this.k.emailSoftLog(id);
    return Number(await this.redis.eval(BOUNCE, 1, log, m.ref, m.sentAt, KEEP, had === 0 ? '1' : '0', TTL_SECONDS));
  }

  /** A holder's message was accepted: it breaks the row unless it bounces later. */
  async accepted(id: number, m: SentMessage): Promise<void> {
    const done = Number(await this.redis.eval(ACCEPT, 1, this.k.emailSoftLog(id), m.ref, m.sentAt, KEEP, SOFT_BOUNCE_LIMIT));
    if (done === 1) await this.redis.setbit(this.k.emailSoftStrikes, id, 0);
  }

  /** The reader is suppressed, unsubscribed or erased: nothing left to count. */
  async forget(id: number): Promise<void> {
    await this.redis.del(this.k.emailSoftLog(id));
    if ((await this.redis.getbit(this.k.emailSoftStrikes, id)) === 1) await this.redis.setbit(this.k.emailSoftStrikes, id, 0);
  }
}
