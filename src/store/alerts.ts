// Alerts and their revisions. An alert is a story as the newsroom tells it: revision 1 is the
// original, later ones are updates and corrections. Each revision is stored whole (a few hundred
// bytes) in the alert's hash, so what a reader got at revision n can always be shown again.
// Delivery figures live per revision (see progress.ts).
import type { Keys, LateKind } from './keys';
import type { MessageRef } from '../tokens';
import type { RedisClient } from './redis';
import type { Progress } from './progress';
import type { DeliveryReports, ReportSummary } from './delivery-report';
import { heldUntil, statusOf, type RevisionState, type RevisionStatus } from './revision-state';
import { laneOf, type Alert, type Channel, type Lane } from '../model';
import { authAlarms, type AuthAlarm, type ServiceFigures } from './service-figures';

export interface ChannelFigures {
  targeted: number;
  sent: number;
  failed: number;
}
// A report about one message counts once, and only for a message we did send to that reader:
// KEYS: the revision's email `sent` bitmap, the report kind's bitmap, the revision's state hash.
// ARGV: subscriber id, the state field. Returns -1 never sent, 0 already counted, 1 counted.
const COUNT_LATE = `
if redis.call('GETBIT', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('SETBIT', KEYS[2], ARGV[1], 1) == 1 then return 0 end
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return 1`;

/**
 * The `expired` outcome means "this recipient no longer exists": for push a 404/410 from the push
 * service, for email a hard bounce; the email side shows it under its usual name, `bounced`.
 */
export interface Delivery {
  /**
   * byService: the same figures per push service, with each refusal's reason; alarm: the
   * services where more than a fifth of the recipients refused us with 401/403 (absent if none).
   */
  push: ChannelFigures & { expired: number; byService: Record<string, ServiceFigures>; alarm?: AuthAlarm[] };
  email: ChannelFigures & { bounced: number; complained: number };
}
/**
 * Recipients of the revision not settled yet, per channel: still to send, held for quiet hours,
 * or — once cancelled or superseded — never sent. Exact: every settled one has its bit.
 */
export interface Pending {
  push: number;
  email: number;
}

export interface RevisionView extends Omit<Alert, 'id' | 'topics' | 'channels' | 'urgency' | 'story'> {
  /** Always shown: `flash` for a revision stored before lanes that was a flash, else `normal`. */
  lane: Lane;
  status: RevisionStatus;
  /** When a held revision (quiet hours, spacing) sends next. */
  heldUntil?: string;
  approval?: { audience: number; approvedBy?: string; approvedAt?: string };
  delivery: Delivery;
  pending: Pending;
}

export interface AlertView extends Alert {
  /** The latest revision's lane (see src/pipeline/lanes.ts). */
  lane: Lane;
  status: RevisionStatus;
  heldUntil?: string;
  approval?: RevisionView['approval'];
  /** The latest revision's figures; push.clicked counts clicks on any of the alert's notifications. */
  delivery: { push: Delivery['push'] & { clicked: number }; email: Delivery['email'] };
  pending: Pending;
  /** Every revision, oldest first; the top level repeats the latest. */
  revisions: RevisionView[];
  /** The latest revision's share delivered within the target and click-through rates. */
  report?: ReportSummary;
}

export class Alerts {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    private readonly progress: Progress,
    private readonly reports?: DeliveryReports,
  ) {}

  async create(alert: Alert): Promise<void> {
    await this.redis.hset(this.k.alert(alert.id), { [`rev:${alert.rev}`]: JSON.stringify(alert), revs: alert.rev });
    await this.redis.zadd(this.k.alertIndex, Date.parse(alert.createdAt), alert.id);
  }

  /** Reserves the next revision number; concurrent updates get distinct ones. */
  async nextRev(id: string): Promise<number> {
    return this.redis.hincrby(this.k.alert(id), 'revs', 1);
  }

  async saveRevision(alert: Alert): Promise<void> {
    await this.redis.hset(this.k.alert(alert.id), `rev:${alert.rev}`, JSON.stringify(alert));
    // The list shows the stories that moved last first.
    await this.redis.zadd(this.k.alertIndex, Date.parse(alert.createdAt), alert.id);
  }

  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.k.alert(id))) === 1;
  }

  /** The latest revision. */
  async get(id: string): Promise<Alert | null> {
    return (await this.revisions(id)).at(-1) ?? null;
  }

  async getRev(id: string, rev: number): Promise<Alert | null> {
    const raw = await this.redis.hget(this.k.alert(id), `rev:${rev}`);
    return raw ? (JSON.parse(raw) as Alert) : null;
  }

  /** Every stored revision, oldest first. */
  async revisions(id: string): Promise<Alert[]> {
    const h = await this.redis.hgetall(this.k.alert(id));
    return Object.entries(h)
      .filter(([f]) => f.startsWith('rev:'))
      .map(([, v]) => JSON.parse(v) as Alert)
      .sort((a, b) => a.rev - b.rev);
  }

  async view(id: string): Promise<AlertView | null> {
    const [revs, clicked] = await Promise.all([this.revisions(id), this.redis.hget(this.k.alert(id), 'push:clicked')]);
    const latest = revs.at(-1);
    if (!latest) return null;
    const [states, report] = await Promise.all([
      Promise.all(revs.map((r) => this.progress.revisions.read(id, r.rev))),
      this.reports?.summary(id, latest.rev),
    ]);
    const revisions = revs.map((r, i) => revisionView(r, states[i]));
    const top = revisions.at(-1)!;
    return {
      ...latest,
      lane: top.lane,
      status: top.status,
      ...(top.heldUntil ? { heldUntil: top.heldUntil } : {}),
      ...(top.approval ? { approval: top.approval } : {}),
      // Complaints, like clicks, are about the story: every revision's count adds up.
      delivery: {
        push: { ...top.delivery.push, clicked: Number(clicked ?? 0) },
        email: { ...top.delivery.email, complained: states.reduce((n, st) => n + st.late.complained, 0) },
      },
      pending: top.pending,
      revisions,
      ...(report ? { report } : {}),
    };
  }

  /**
   * Counts a bounce or complaint that came back after the send: 'counted' the first time for this
   * message, 'repeat' after, 'unknown' when the revision never mailed this reader.
   */
  async countLate(ref: MessageRef, kind: LateKind): Promise<'counted' | 'repeat' | 'unknown'> {
    const { alertId: id, rev, subscriberId } = ref;
    const keys = [this.k.alertBits(id, rev, 'email', 'sent'), this.k.alertLate(id, rev, kind), this.k.alertState(id, rev)];
    const r = Number(await this.redis.eval(COUNT_LATE, 3, ...keys, subscriberId, `email:late:${kind}`));
    return r === 1 ? 'counted' : r === 0 ? 'repeat' : 'unknown';
  }

  /** Counts a click on one of the alert's notifications; null when the alert does not exist. */
  async click(id: string): Promise<{ counted: boolean } | null> {
    const revs = Number((await this.redis.hget(this.k.alert(id), 'revs')) ?? 0);
    const states = Array.from({ length: revs }, (_, i) => this.k.alertState(id, i + 1));
    const r = await this.redis.dpClick(1 + states.length, this.k.alert(id), ...states);
    return r < 0 ? null : { counted: r === 1 };
  }

  /** Ids of the alerts active since `sinceMs`, newest first (the console's live feed watches them). */
  async recentIds(sinceMs: number, limit: number): Promise<string[]> {
    return this.redis.zrevrangebyscore(this.k.alertIndex, '+inf', sinceMs, 'LIMIT', 0, limit);
  }

  /** Newest first. */
  async list(limit = 50, before?: number): Promise<AlertView[]> {
    const ids = await this.redis.zrevrangebyscore(
      this.k.alertIndex,
      before !== undefined ? `(${before}` : '+inf',
      '-inf',
      'LIMIT',
      0,
      limit,
    );
    const views = await Promise.all(ids.map((id) => this.view(id)));
    return views.filter((v): v is AlertView => v !== null);
  }
}

function revisionView(r: Alert, st: RevisionState): RevisionView {
  const f = st.figures;
  const figures = (ch: Channel): ChannelFigures => ({ targeted: f[ch].targeted ?? 0, sent: f[ch].sent, failed: f[ch].failed });
  const pending = (ch: Channel): number => Math.max(0, (f[ch].targeted ?? 0) - f[ch].sent - f[ch].failed - f[ch].expired - f[ch].skipped);
  const alarm = authAlarms(st.byService);
  const push = { ...figures('push'), expired: f.push.expired, byService: st.byService, ...(alarm.length > 0 ? { alarm } : {}) };
  // Refused during the SMTP conversation, or reported later by a DSN or a provider: both are bounces.
  const email = { ...figures('email'), bounced: f.email.expired + st.late.bounced, complained: st.late.complained };
  const status = statusOf(st);
  const held = status === 'held' ? heldUntil(st) : undefined;
  const { id: _id, topics: _t, channels: _c, urgency: _u, story: _s, ...rest } = r;
  return {
    ...rest,
    lane: laneOf(r),
    status,
    ...(held ? { heldUntil: new Date(held).toISOString() } : {}),
    ...(st.approval
      ? {
          approval: {
            audience: st.approval.audience,
            ...(st.approval.by ? { approvedBy: st.approval.by, approvedAt: st.approval.at } : {}),
          },
        }
      : {}),
    delivery: { push, email },
    pending: { push: pending('push'), email: pending('email') },
  };
}
