// The newsroom's last days at a glance: per alert, the share delivered within the target, the time
// by which 90 % had it, and the click-through rate, with the medians over those alerts. Read from
// what each revision already stores (its state hash and its report hash of time buckets), for at
// most `limit` alerts taken newest first from the alert index: the cost is bounded by the limit,
// never by how many keys Redis holds.
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import type { Alert } from '../model';
import { buckets, timingOf, within } from './delivery-report';

/** What one channel of one alert shows on the newsroom page. */
export interface RecentFigures {
  targeted: number;
  accepted: number;
  clicked: number;
  /** Share accepted within the target; null before any was. */
  withinTarget: number | null;
  /** Time to 90 % of the accepted, from the revision's first wave (a bucket's upper edge). */
  p90Ms: number | null;
  /** Clicks per accepted message; null before any was accepted. */
  ctr: number | null;
}
export interface RecentAlert {
  id: string;
  rev: number;
  title: string;
  /** When its sending started (the first wave), else when it was scheduled or written. */
  publishedAt: string;
  push: RecentFigures;
  email: RecentFigures;
}
export interface Medians {
  withinTarget: number | null;
  p90Ms: number | null;
  ctr: number | null;
  /** How many alerts had figures for this channel. */
  alerts: number;
}
export interface RecentReport {
  days: number;
  since: string;
  targetSeconds: number;
  limit: number;
  /** More alerts fell in the window than `limit`: the oldest of them are left out. */
  truncated: boolean;
  /** Oldest first, as the charts draw them. */
  alerts: RecentAlert[];
  medians: { push: Medians; email: Medians };
}

/** Upper bound of the `limit` an editor may ask for. */
export const MAX_RECENT_ALERTS = 500;
/** Alerts read at a time: bounds the replies held in memory at once. */
const CHUNK = 50;
const DAY_MS = 86_400_000;

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export class RecentReports {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    readonly targetSeconds: number,
  ) {}

  async read(opts: { days: number; limit: number; now?: number }): Promise<RecentReport> {
    const now = opts.now ?? Date.now();
    const since = now - opts.days * DAY_MS;
    const limit = Math.min(opts.limit, MAX_RECENT_ALERTS);
    // One more than asked: says whether the window held more than we show.
    const ids = await this.redis.zrevrangebyscore(this.k.alertIndex, '+inf', since, 'LIMIT', 0, limit + 1);
    const truncated = ids.length > limit;
    const rows: RecentAlert[] = [];
    for (let i = 0; i < Math.min(ids.length, limit); i += CHUNK) {
      const part = await Promise.all(ids.slice(i, Math.min(i + CHUNK, limit)).map((id) => this.one(id)));
      for (const r of part) if (r) rows.push(r);
    }
    rows.reverse();
    const medians = (ch: 'push' | 'email'): Medians => {
      const sent = rows.filter((r) => r[ch].accepted > 0);
      return {
        withinTarget: median(sent.map((r) => r[ch].withinTarget)),
        p90Ms: median(sent.map((r) => r[ch].p90Ms)),
        ctr: median(sent.map((r) => r[ch].ctr)),
        alerts: sent.length,
      };
    };
    return {
      days: opts.days,
      since: new Date(since).toISOString(),
      targetSeconds: this.targetSeconds,
      limit,
      truncated,
      alerts: rows,
      medians: { push: medians('push'), email: medians('email') },
    };
  }

  /** One alert's latest revision, as the alert list shows it; null for a test send or a gone alert. */
  private async one(id: string): Promise<RecentAlert | null> {
    const revs = Number((await this.redis.hget(this.k.alert(id), 'revs')) ?? 0);
    // A revision number is reserved before the revision is written: fall back to the one before.
    for (let rev = revs; rev >= Math.max(1, revs - 1); rev--) {
      const [raw, st, rep] = await Promise.all([
        this.redis.hget(this.k.alert(id), `rev:${rev}`),
        this.redis.hgetall(this.k.alertState(id, rev)),
        this.redis.hgetall(this.k.alertReport(id, rev)),
      ]);
      if (!raw) continue;
      const alert = JSON.parse(raw) as Alert;
      // Sends to the newsroom's own test recipients say nothing about readers.
      if (alert.kind === 'test') return null;
      const t0 = Number(st.t0 ?? 0);
      return {
        id,
        rev,
        title: alert.title,
        publishedAt: t0 > 0 ? new Date(t0).toISOString() : (alert.publishAt ?? alert.createdAt),
        push: this.figures(st, rep, 'push'),
        email: this.figures(st, rep, 'email'),
      };
    }
    return null;
  }

  private figures(st: Record<string, string>, rep: Record<string, string>, ch: 'push' | 'email'): RecentFigures {
    const n = (f: string) => Number(st[`${ch}:${f}`] ?? 0);
    const accepted = n('sent');
    const t = buckets(rep, `t:${ch}:`);
    return {
      targeted: n('targeted'),
      accepted,
      clicked: n('clicked'),
      withinTarget: within(t, this.targetSeconds * 1000),
      p90Ms: timingOf(t).p90Ms,
      ctr: accepted > 0 ? n('clicked') / accepted : null,
    };
  }
}
