// Prometheus metrics. Each process has its own registry (Prometheus scrapes every process and sums
// across them): the API serves /metrics with its counters and the queue depths, which it reads
// from Redis at scrape time; a worker-only process serves its delivery counters on METRICS_PORT.
// The delivery processes a process forks have no listener: their registries are fetched over IPC
// at scrape time and summed into the forking process's answer (addSource).
// The delivery hot path only bumps pre-labelled children: no string building per recipient.
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { Queue } from 'bullmq';
import type { Channel } from './model';

/** The queues whose depths are reported; metrics never imports the pipeline that defines them. */
type WatchedQueues = Record<'fanout' | 'push' | 'email' | 'pushFlash' | 'emailFlash' | 'mail' | 'webhook', Pick<Queue, 'getJobCounts'>>;

type Outcome = 'sent' | 'failed' | 'expired';

/** Failure reasons become label values, so only a bounded set of shapes gets through. */
export function reasonLabel(reason: string | undefined): string {
  if (!reason) return 'unknown';
  if (/^(http|smtp) \d{3}$/.test(reason) || /^E[A-Z_]{2,30}$/.test(reason)) return reason;
  return 'other';
}

/** One registry's contents as plain data, as prom-client's getMetricsAsJSON gives it. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'] as const;

/** Implements the pipeline's DeliveryMetrics (checked where runtime.ts hands it over). */
export class Metrics {
  readonly registry = new Registry();
  private readonly published: Counter<'urgency'>;
  private readonly deliveries: Counter<'channel' | 'outcome'>;
  private readonly failures: Counter<'channel' | 'reason'>;
  private readonly retries: Counter<'channel' | 'reason'>;
  private readonly latency: Histogram<'channel'>;
  private readonly serviceLatency: Histogram<'service'>;
  private readonly byService: Counter<'service' | 'outcome'>;
  private readonly refusals: Counter<'service' | 'refusal'>;
  private readonly quarantined: Counter<'service'>;
  private readonly engagement: Counter<'channel' | 'event'>;
  private readonly bound = new Map<string, { inc(): void }>();
  private readonly serviceObservers = new Map<string, { observe(v: number): void }>();
  private readonly latencyOf: Record<Channel, { observe(v: number): void }>;
  private readonly sources: (() => Promise<MetricsSnapshot[]>)[] = [];

  constructor(opts: { processMetrics: boolean }) {
    const registers = [this.registry];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'depeche_process_' });
    this.published = new Counter({
      name: 'depeche_alerts_published_total',
      help: 'Alerts accepted by POST /api/alerts',
      labelNames: ['urgency'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'depeche_deliveries_total',
      help: 'Recipients settled, by channel and outcome (sent, failed, expired for push, bounced for email)',
      labelNames: ['channel', 'outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'depeche_delivery_failures_total',
      help: 'Recipients that failed for good, by reason (http 403, smtp 550, …)',
      labelNames: ['channel', 'reason'],
      registers,
    });
    this.retries = new Counter({
      name: 'depeche_send_retries_total',
      help: 'Sends that hit a transient error and will be retried, by reason',
      labelNames: ['channel', 'reason'],
      registers,
    });
    this.latency = new Histogram({
      name: 'depeche_publish_to_delivery_seconds',
      help: 'Time from the publish call to the push service or SMTP server accepting the message',
      labelNames: ['channel'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    });
    // Per push service: the labels come from closed sets (service-kind.ts), never from a stranger.
    this.serviceLatency = new Histogram({
      name: 'depeche_push_service_delivery_seconds',
      help: 'Time from the publish call to the push service (fcm, mozilla, apple, wns, other) accepting the message',
      labelNames: ['service'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    });
    this.byService = new Counter({
      name: 'depeche_push_service_deliveries_total',
      help: 'Push recipients settled, by push service (fcm, mozilla, apple, wns, other) and outcome',
      labelNames: ['service', 'outcome'],
      registers,
    });
    this.refusals = new Counter({
      name: 'depeche_push_service_refusals_total',
      help: 'Push refusals by push service and refusal ("403 BadJwtToken", "410 errno 103", "401")',
      labelNames: ['service', 'refusal'],
      registers,
    });
    this.quarantined = new Counter({
      name: 'depeche_push_quarantined_total',
      help: 'Push subscriptions put in quarantine (the same non-auth 4xx on several alerts over days), by push service',
      labelNames: ['service'],
      registers,
    });
    this.engagement = new Counter({
      name: 'depeche_reader_events_total',
      help: 'Receipts from service workers (received, clicked) and email article clicks, each counted once per recipient and revision',
      labelNames: ['channel', 'event'],
      registers,
    });
    this.latencyOf = { push: this.latency.labels('push'), email: this.latency.labels('email') };
    for (const ch of ['push', 'email'] as const) {
      // An email's "expired" outcome is a hard bounce: exported under the name editors know.
      for (const o of ['sent', 'failed', 'expired'] as const)
        this.bound.set(`${ch}:${o}`, this.deliveries.labels(ch, ch === 'email' && o === 'expired' ? 'bounced' : o));
    }
  }

  alertPublished(urgency: string): void {
    this.published.labels(urgency).inc();
  }

  outcome(
    channel: Channel,
    outcome: Outcome,
    reason: string | undefined,
    publishedAtMs: number,
    tags?: { group?: string; detail?: string; quarantined?: boolean },
  ): void {
    this.bound.get(`${channel}:${outcome}`)!.inc();
    if (tags?.group && tags.quarantined) this.child(`q\0${tags.group}`, () => this.quarantined.labels(tags.group!)).inc();
    if (tags?.group) {
      this.child(`s\0${tags.group}\0${outcome}`, () => this.byService.labels(tags.group!, outcome)).inc();
      if (tags.detail) this.child(`r\0${tags.group}\0${tags.detail}`, () => this.refusals.labels(tags.group!, tags.detail!)).inc();
    }
    if (outcome === 'sent') {
      const seconds = (Date.now() - publishedAtMs) / 1000;
      this.latencyOf[channel].observe(seconds);
      if (tags?.group) this.observer(tags.group).observe(seconds);
    } else if (outcome === 'failed') this.failures.labels(channel, reasonLabel(reason)).inc();
  }

  /** The push service's histogram child, bound once (same reason as `child`). */
  private observer(group: string): { observe(v: number): void } {
    let o = this.serviceObservers.get(group);
    if (!o) this.serviceObservers.set(group, (o = this.serviceLatency.labels(group)));
    return o;
  }

  /** A labelled child, bound once: the hot path does not rebuild label sets per recipient. */
  private child(key: string, make: () => { inc(): void }): { inc(): void } {
    let c = this.bound.get(key);
    if (!c) this.bound.set(key, (c = make()));
    return c;
  }

  /** A receipt or click that counted (a replay does not). */
  engaged(channel: Channel, event: 'received' | 'clicked'): void {
    this.engagement.labels(channel, event).inc();
  }

  retry(channel: Channel, reason: string): void {
    this.retries.labels(channel, reasonLabel(reason)).inc();
  }

  /** Queue depths, read from Redis when Prometheus scrapes (so they hold whoever did the work). */
  watchQueues(queues: WatchedQueues): void {
    // Labelled by queue name: the flash lane's queues are push-flash and email-flash.
    const named = {
      fanout: queues.fanout,
      push: queues.push,
      email: queues.email,
      'push-flash': queues.pushFlash,
      'email-flash': queues.emailFlash,
      mail: queues.mail,
      webhook: queues.webhook,
    };
    new Gauge({
      name: 'depeche_queue_jobs',
      help: 'Jobs per BullMQ queue and state, read at scrape time',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        const counts = await Promise.all(Object.values(named).map((q) => q.getJobCounts(...QUEUE_STATES).catch(() => null)));
        Object.keys(named).forEach((name, i) => {
          const c = counts[i];
          // Redis unreachable: report nothing rather than a misleading zero.
          if (c) for (const state of QUEUE_STATES) this.labels(name, state).set(c[state] ?? 0);
        });
      },
    });
  }

  /** Other processes' registries to add into this one's exposition (forked delivery processes). */
  addSource(source: () => Promise<MetricsSnapshot[]>): void {
    this.sources.push(source);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    if (this.sources.length === 0) return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    const others = (await Promise.all(this.sources.map((s) => s()))).flat();
    // Counters and histograms add up; process metrics use the aggregator prom-client gives each.
    const all = AggregatorRegistry.aggregate([await this.registry.getMetricsAsJSON(), ...others]);
    return { contentType: this.registry.contentType, body: await all.metrics() };
  }
}
