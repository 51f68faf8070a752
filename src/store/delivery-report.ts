// A revision's delivery report: how fast it reached readers, who saw it, who read it. Everything
// comes from what the delivery already writes: the outcome counters of the revision's state hash,
// and its report hash, where each group of accepted outcomes bumped one time bucket (scripts.ts:
// 100 ms up to 10 s, 1 s up to 2 min, then 10 s, from the revision's first wave). Percentiles
// are read off the cumulative buckets, so every time given is a bucket's upper edge: "by then".
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import { PUSH_SERVICES } from '../push/service-kind';
import { defineScripts } from './scripts';
import type { Channel, DeliveryEvent } from '../model';

export interface Timing {
  firstMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  lastMs: number | null;
}
export interface CurvePoint {
  ms: number;
  accepted: number;
  received?: number;
}
export interface ServiceFigures {
  accepted: number;
  failed: number;
  expired: number;
  p90Ms: number | null;
  errors: Record<string, number>;
}
export interface DeliveryReport {
  alert: string;
  rev: number;
  targetSeconds: number;
  push: {
    targeted: number;
    accepted: number;
    received: number;
    clicked: number;
    failed: number;
    expired: number;
    withinTarget: number | null;
    timing: Timing;
    curve: CurvePoint[];
    byService: Record<string, ServiceFigures>;
  };
  email: {
    targeted: number;
    accepted: number;
    clicked: number;
    bounced: number;
    failed: number;
    withinTarget: number | null;
    timing: Timing;
    curve: CurvePoint[];
  };
}

/** The figures an alert list shows: « 93 % en moins de 2 min », click-through rate. */
export interface ReportSummary {
  targetSeconds: number;
  push: { withinTarget: number | null; received: number; clicked: number; ctr: number | null };
  email: { withinTarget: number | null; clicked: number; ctr: number | null };
}

/** A curve of more points than this is thinned (it is cumulative: dropping points loses no total). */
export const MAX_CURVE_POINTS = 300;

/** A bucket's width from its lower edge (the scheme of scripts.ts). */
export const bucketWidth = (edge: number): number => (edge < 10_000 ? 100 : edge < 120_000 ? 1000 : 10_000);

export type Buckets = Map<number, number>;

const num = (v: string | undefined) => Number(v ?? 0);

export class DeliveryReports {
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    readonly targetSeconds: number,
  ) {
    defineScripts(redis);
  }

  async read(id: string, rev: number): Promise<DeliveryReport> {
    const [st, rep] = await this.hashes(id, rev);
    const target = this.targetSeconds * 1000;
    const pushT = buckets(rep, 't:push:');
    const emailT = buckets(rep, 't:email:');
    const byService: Record<string, ServiceFigures> = {};
    for (const s of PUSH_SERVICES) {
      const p = `s:${s}:`;
      if (!Object.keys(rep).some((f) => f.startsWith(p))) continue;
      const errors: Record<string, number> = {};
      for (const [f, v] of Object.entries(rep)) if (f.startsWith(`${p}e:`)) errors[f.slice(p.length + 2)] = Number(v);
      byService[s] = {
        accepted: num(rep[`${p}sent`]),
        failed: num(rep[`${p}failed`]),
        expired: num(rep[`${p}expired`]),
        p90Ms: timingOf(buckets(rep, `${p}t:`)).p90Ms,
        errors,
      };
    }
    return {
      alert: id,
      rev,
      targetSeconds: this.targetSeconds,
      push: {
        targeted: num(st['push:targeted']),
        accepted: num(st['push:sent']),
        received: num(st['push:received']),
        clicked: num(st['push:clicked']),
        failed: num(st['push:failed']),
        expired: num(st['push:expired']),
        withinTarget: within(pushT, target),
        timing: timingOf(pushT),
        curve: curveOf(pushT, buckets(rep, 'r:push:')),
        byService,
      },
      email: {
        targeted: num(st['email:targeted']),
        accepted: num(st['email:sent']),
        clicked: num(st['email:clicked']),
        bounced: num(st['email:expired']),
        failed: num(st['email:failed']),
        withinTarget: within(emailT, target),
        timing: timingOf(emailT),
        curve: curveOf(emailT),
      },
    };
  }

  async summary(id: string, rev: number): Promise<ReportSummary> {
    const [st, rep] = await this.hashes(id, rev);
    const target = this.targetSeconds * 1000;
    const rate = (clicked: number, accepted: number) => (accepted > 0 ? clicked / accepted : null);
    return {
      targetSeconds: this.targetSeconds,
      push: {
        withinTarget: within(buckets(rep, 't:push:'), target),
        received: num(st['push:received']),
        clicked: num(st['push:clicked']),
        ctr: rate(num(st['push:clicked']), num(st['push:sent'])),
      },
      email: {
        withinTarget: within(buckets(rep, 't:email:'), target),
        clicked: num(st['email:clicked']),
        ctr: rate(num(st['email:clicked']), num(st['email:sent'])),
      },
    };
  }

  /**
   * A reader's receipt or click for one recipient of one revision: counted once, and only if that
   * recipient's message was accepted. Says what counted (a click also counts a receipt that never
   * came). Touches no key otherwise.
   */
  async engage(
    id: string,
    rev: number,
    ch: Channel,
    subscriberId: number,
    event: DeliveryEvent,
  ): Promise<{ counted: boolean; receipt: boolean }> {
    const r = await this.redis.dpEngage(
      this.k.alertBits(id, rev, ch, 'sent'),
      this.k.alertEvents(id, rev, ch, 'received'),
      this.k.alertEvents(id, rev, ch, 'clicked'),
      this.k.alertState(id, rev),
      this.k.alertReport(id, rev),
      this.k.alert(id),
      subscriberId,
      ch,
      event,
      // An email has no receipt: opens are not tracked (see the README).
      ch === 'push' ? '1' : '0',
    );
    return { counted: (r & 1) === 1, receipt: (r & 2) === 2 };
  }

  private async hashes(id: string, rev: number): Promise<[Record<string, string>, Record<string, string>]> {
    return Promise.all([this.redis.hgetall(this.k.alertState(id, rev)), this.redis.hgetall(this.k.alertReport(id, rev))]);
  }
}

export function buckets(h: Record<string, string>, prefix: string): Buckets {
  const out: Buckets = new Map();
  for (const [f, v] of Object.entries(h)) {
    if (!f.startsWith(prefix)) continue;
    const edge = Number(f.slice(prefix.length));
    if (Number.isInteger(edge)) out.set(edge, (out.get(edge) ?? 0) + Number(v));
  }
  return out;
}

/** Bucket upper edges with the running total at each, in time order. */
function cumulative(b: Buckets): [number, number][] {
  let sum = 0;
  return [...b.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([edge, n]) => {
      sum += n;
      return [edge + bucketWidth(edge), sum];
    });
}

/** The upper edge by which a share q of the outcomes had happened. */
function quantile(cum: [number, number][], q: number): number | null {
  const total = cum.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const want = Math.max(1, Math.ceil(q * total));
  return cum.find(([, c]) => c >= want)?.[0] ?? null;
}

export function timingOf(b: Buckets): Timing {
  const cum = cumulative(b);
  return {
    firstMs: cum[0]?.[0] ?? null,
    p50Ms: quantile(cum, 0.5),
    p90Ms: quantile(cum, 0.9),
    p99Ms: quantile(cum, 0.99),
    lastMs: cum.at(-1)?.[0] ?? null,
  };
}

/** Share of the accepted outcomes whose bucket ended within the target; null before any. */
export function within(b: Buckets, targetMs: number): number | null {
  let all = 0;
  let inTime = 0;
  for (const [edge, n] of b) {
    all += n;
    if (edge + bucketWidth(edge) <= targetMs) inTime += n;
  }
  return all > 0 ? inTime / all : null;
}

/** Cumulative and monotone, from 0; with receipts when `received` is given. */
export function curveOf(accepted: Buckets, received?: Buckets): CurvePoint[] {
  const a = cumulative(accepted);
  const r = received ? cumulative(received) : [];
  const edges = [...new Set([0, ...a.map(([e]) => e), ...r.map(([e]) => e)])].sort((x, y) => x - y);
  let ia = 0;
  let ir = 0;
  let ca = 0;
  let cr = 0;
  const points = edges.map((ms) => {
    while (ia < a.length && a[ia][0] <= ms) ca = a[ia++][1];
    while (ir < r.length && r[ir][0] <= ms) cr = r[ir++][1];
    return received ? { ms, accepted: ca, received: cr } : { ms, accepted: ca };
  });
  if (points.length <= MAX_CURVE_POINTS) return points;
  const step = Math.ceil(points.length / (MAX_CURVE_POINTS - 1));
  return points.filter((_, i) => i % step === 0 || i === points.length - 1);
}

/** The report as one table: `channel,figure,ms,value` (a figure with no time leaves `ms` empty). */
export function reportCsv(r: DeliveryReport): string {
  const rows: (string | number)[][] = [['channel', 'figure', 'ms', 'value']];
  const add = (ch: string, figure: string, value: number | null, ms: number | '' = '') => rows.push([ch, figure, ms, value ?? '']);
  for (const ch of ['push', 'email'] as const) {
    const c = r[ch];
    for (const [f, v] of Object.entries(c) as [string, unknown][]) if (typeof v === 'number' || v === null) add(ch, f, v);
    for (const [f, v] of Object.entries(c.timing) as [string, number | null][]) add(ch, f, v);
    for (const p of c.curve) {
      add(ch, 'curve_accepted', p.accepted, p.ms);
      if (p.received !== undefined) add(ch, 'curve_received', p.received, p.ms);
    }
  }
  for (const [s, f] of Object.entries(r.push.byService)) {
    add(`push:${s}`, 'accepted', f.accepted);
    add(`push:${s}`, 'failed', f.failed);
    add(`push:${s}`, 'expired', f.expired);
    add(`push:${s}`, 'p90Ms', f.p90Ms);
    // Reasons are ours (bounded, no commas: "http 403"), quoted anyway.
    for (const [reason, n] of Object.entries(f.errors)) add(`push:${s}`, `"error ${reason.replace(/"/g, '""')}"`, n);
  }
  return `${rows.map((row) => row.join(',')).join('\r\n')}\r\n`;
}
