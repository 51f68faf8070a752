// Where a revision stands in the newsroom's workflow, with one owner. The `state` field of a
// revision's hash moves only through the named transitions below, each one Lua script that checks
// the current phase and writes the new one (and its companion fields) atomically, so two chiefs,
// a cancel racing a fan-out, or a job nobody queued cannot skip a step. The script touches only
// the revision's own keys, which share the alert's hash tag: it runs unchanged on Redis Cluster.
// Progress (progress.ts) owns the work counters of the same hash; this file owns the phase.
import { byServiceOf, type ServiceFigures } from './service-figures';
import type { Result } from 'ioredis';
import { type Keys, type LateKind } from './keys';
import type { RedisClient } from './redis';
import { CHANNELS, type Channel, OUTCOMES, type OutcomeKind } from '../model';

/** A phase stored explicitly; without one, the status is derived from the work counters. */
export type Phase = 'scheduled' | 'awaiting_approval' | 'cancelled' | 'superseded' | 'delivered';
export type RevisionStatus = Phase | 'queued' | 'sending' | 'held';
export const TERMINAL: readonly RevisionStatus[] = ['delivered', 'cancelled', 'superseded'];

export type Transition = 'awaitApproval' | 'approve' | 'schedule' | 'start' | 'hold' | 'cancel' | 'resume' | 'supersede' | 'finish';

/** What a refused transition found: a phase, 'open' (no phase: may send), 'early' or 'unregistered'. */
export type Found = Phase | 'open' | 'early' | 'unregistered';
export type Outcome = { ok: true } | { ok: false; found: Found };

export type Figures = Record<OutcomeKind, number> & { targeted?: number };

/** A revision's state hash, read once and typed. */
export interface RevisionState {
  phase?: Phase;
  /** Pieces of work (waves, batches) queued and not done; `heldOpen` of them wait for a window. */
  open: number;
  heldOpen: number;
  waves: number;
  batches: Record<Channel, number>;
  /** Ends of the quiet windows held waves wait for (epoch ms). */
  holds: number[];
  /** The MIN_ALERT_GAP start slot reserved by the first wave (epoch ms), 0 when none. */
  spacedUntil: number;
  /** When a scheduled revision may start (epoch ms), 0 when never scheduled. */
  scheduledFor: number;
  figures: Record<Channel, Figures>;
  /** Push figures per push service (service-figures.ts). */
  byService: Record<string, ServiceFigures>;
  /** Email reports that came back after the send (DSNs, complaints, provider webhooks), once per recipient. */
  late: Record<LateKind, number>;
  approval?: { audience: number; by?: string; at?: string };
  cancelled?: { at: string; by: string };
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: state hash, marks hash. ARGV: transition, now ms, wave, then field/value pairs. */
    dpTransition(
      state: string,
      marks: string,
      name: Transition,
      now: number,
      wave: string,
      ...fields: (string | number)[]
    ): Result<[number, string], Context>;
  }
}

// Which phases each transition leaves from ('' = none: queued, sending or held) and where it goes.
// A revision with no phase whose work is all done is `delivered`, whether or not `finish` ran yet.
const TRANSITION = `
local st, name, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local phase = redis.call('HGET', st, 'state') or ''
if phase == '' then
  local open = tonumber(redis.call('HGET', st, 'open') or '0')
  if open <= 0 and tonumber(redis.call('HGET', st, 'waves') or '0') > 0 then phase = 'delivered' end
end
local from = {
  awaitApproval = {[''] = '', scheduled = ''}, approve = {awaiting_approval = ''},
  schedule = {[''] = ''}, start = {[''] = '', scheduled = ''}, hold = {[''] = ''},
  cancel = {[''] = '', scheduled = '', awaiting_approval = ''}, resume = {cancelled = ''},
  supersede = {[''] = '', scheduled = '', awaiting_approval = ''}, finish = {delivered = ''},
}
local to = {
  awaitApproval = 'awaiting_approval', approve = '', schedule = 'scheduled', start = '', hold = '',
  cancel = 'cancelled', resume = '', supersede = 'superseded', finish = 'delivered',
}
if name == 'start' then
  local mark = redis.call('HGET', KEYS[2], 'w:' .. ARGV[3])
  if mark ~= 'q' and mark ~= 'h' then return {0, 'unregistered'} end
  if phase == 'scheduled' and now < tonumber(redis.call('HGET', st, 'scheduledFor') or '0') then return {0, 'early'} end
end
-- Finished once: whoever finishes it tells the world (alert.delivered), so a second finish is refused.
if name == 'finish' and redis.call('HGET', st, 'state') == 'delivered' then return {0, 'delivered'} end
if from[name] == nil or from[name][phase] == nil then return {0, phase == '' and 'open' or phase} end
local approved = redis.call('HEXISTS', st, 'approvedBy') == 1
if name == 'awaitApproval' and approved then return {0, phase == '' and 'open' or phase} end
local dest = to[name]
if name == 'resume' and redis.call('HEXISTS', st, 'approvalAudience') == 1 and not approved then dest = 'awaiting_approval' end
if dest == '' then redis.call('HDEL', st, 'state') else redis.call('HSET', st, 'state', dest) end
for i = 4, #ARGV, 2 do redis.call('HSET', st, ARGV[i], ARGV[i + 1]) end
return {1, dest}`;

const defined = new WeakSet<RedisClient>();
const num = (v: string | undefined) => Number(v ?? 0);

export function parseState(h: Record<string, string>): RevisionState {
  const figures = (ch: Channel): Figures => {
    const f = Object.fromEntries(OUTCOMES.map((o) => [o, num(h[`${ch}:${o}`])])) as Record<OutcomeKind, number>;
    return h[`${ch}:targeted`] !== undefined ? { ...f, targeted: num(h[`${ch}:targeted`]) } : f;
  };
  return {
    ...(h.state ? { phase: h.state as Phase } : {}),
    open: num(h.open),
    heldOpen: num(h.heldOpen),
    waves: num(h.waves),
    batches: { push: num(h['push:batches']), email: num(h['email:batches']) },
    holds: Object.entries(h)
      .filter(([f]) => f.startsWith('h:'))
      .map(([, v]) => Number(v)),
    spacedUntil: num(h.spacedUntil),
    scheduledFor: num(h.scheduledFor),
    figures: Object.fromEntries(CHANNELS.map((ch) => [ch, figures(ch)])) as Record<Channel, Figures>,
    byService: byServiceOf(h),
    late: { bounced: num(h['email:late:bounced']), soft: num(h['email:late:soft']), complained: num(h['email:late:complained']) },
    ...(h.approvalAudience !== undefined
      ? {
          approval: { audience: num(h.approvalAudience), ...(h.approvedBy ? { by: h.approvedBy, at: h.approvedAt ?? '' } : {}) },
        }
      : {}),
    ...(h.cancelledBy ? { cancelled: { at: h.cancelledAt ?? '', by: h.cancelledBy } } : {}),
  };
}

/** The status a revision shows. */
export function statusOf(st: RevisionState, now = Date.now()): RevisionStatus {
  if (st.phase) return st.phase;
  if (st.open <= 0) return st.waves > 0 ? 'delivered' : 'queued';
  if (st.open === st.heldOpen) return 'held';
  if (st.batches.push + st.batches.email > 0) return 'sending';
  return st.spacedUntil > now ? 'held' : 'queued';
}

/** Earliest end of the quiet windows this revision waits for, or of its spacing slot. */
export function heldUntil(st: RevisionState, now = Date.now()): number | undefined {
  const ends = [...st.holds, ...(st.spacedUntil > now ? [st.spacedUntil] : [])];
  return ends.length > 0 ? Math.min(...ends) : undefined;
}

export class Revisions {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
  ) {
    if (defined.has(redis)) return;
    defined.add(redis);
    redis.defineCommand('dpTransition', { numberOfKeys: 2, lua: TRANSITION });
  }

  async read(id: string, rev: number): Promise<RevisionState> {
    return parseState(await this.redis.hgetall(this.k.alertState(id, rev)));
  }

  /** Over APPROVAL_THRESHOLD and never approved: a chief must approve before anything is sent. */
  awaitApproval(id: string, rev: number, audience: number): Promise<Outcome> {
    return this.move(id, rev, 'awaitApproval', '', 'approvalAudience', audience);
  }

  approve(id: string, rev: number, by: string): Promise<Outcome> {
    return this.move(id, rev, 'approve', '', 'approvedBy', by, 'approvedAt', new Date().toISOString());
  }

  schedule(id: string, rev: number, atMs: number): Promise<Outcome> {
    return this.move(id, rev, 'schedule', '', 'scheduledFor', atMs);
  }

  /**
   * A fan-out wave may run: the wave was queued by us (its mark is queued or held), the revision
   * has no phase or is scheduled and due. Refused with what was found otherwise.
   */
  start(id: string, rev: number, wave: string, now = Date.now()): Promise<Outcome> {
    return this.transition(id, rev, 'start', now, wave, []);
  }

  /** The first wave waits for its MIN_ALERT_GAP slot. */
  hold(id: string, rev: number, untilMs: number): Promise<Outcome> {
    return this.move(id, rev, 'hold', '', 'spacedUntil', untilMs);
  }

  cancel(id: string, rev: number, by: string): Promise<Outcome> {
    return this.move(id, rev, 'cancel', '', 'cancelledAt', new Date().toISOString(), 'cancelledBy', by);
  }

  /** Back to sending, or to awaiting approval when it was cancelled before a chief approved it. */
  async resume(id: string, rev: number): Promise<{ ok: true; awaitingApproval: boolean } | { ok: false; found: Found }> {
    const [ok, dest] = await this.redis.dpTransition(this.k.alertState(id, rev), this.k.alertMarks(id, rev), 'resume', Date.now(), '');
    return ok === 1 ? { ok: true, awaitingApproval: dest === 'awaiting_approval' } : { ok: false, found: dest as Found };
  }

  supersede(id: string, rev: number): Promise<Outcome> {
    return this.move(id, rev, 'supersede', '');
  }

  /** Every piece of work is done: `delivered` from now on, whatever a late job tries. Succeeds once. */
  finish(id: string, rev: number): Promise<Outcome> {
    return this.move(id, rev, 'finish', '');
  }

  private move(id: string, rev: number, name: Transition, wave: string, ...fields: (string | number)[]): Promise<Outcome> {
    return this.transition(id, rev, name, Date.now(), wave, fields);
  }

  private async transition(
    id: string,
    rev: number,
    name: Transition,
    now: number,
    wave: string,
    fields: (string | number)[],
  ): Promise<Outcome> {
    const [ok, found] = await this.redis.dpTransition(this.k.alertState(id, rev), this.k.alertMarks(id, rev), name, now, wave, ...fields);
    return ok === 1 ? { ok: true } : { ok: false, found: found as Found };
  }
}
