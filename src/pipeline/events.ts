// What happened, told to the systems that asked (outbound webhooks). Each module emits the event
// it is about — publish, the kill switch, the end of a revision's work, a bounce — through
// `emit`, which finds the endpoints that want it and queues one signed delivery per endpoint
// (webhook.ts). Nothing here speaks HTTP, and an event that cannot be queued is logged, never
// allowed to fail the action that caused it: the alert matters more than the notice about it.
import type { Domain } from '../services';
import type { Queue } from 'bullmq';
import { enqueueWebhook, type WebhookJob } from './webhook';
import type { Alert, Channel } from '../model';
import type { Figures } from '../store/revision-state';

export const EVENT_TYPES = [
  'alert.published',
  'alert.delivered',
  'alert.cancelled',
  'alert.corrected',
  'subscriber.bounced',
  'subscriber.complained',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Figures as the editor's API shows them: an email's `expired` is a bounce. */
export type EventDelivery = {
  push: { targeted: number; sent: number; failed: number; expired: number };
  email: { targeted: number; sent: number; failed: number; bounced: number };
};

export type AlertEventData = {
  alertId: string;
  rev: number;
  kind: Alert['kind'];
  title: string;
  body: string;
  url?: string;
  story?: string;
  topics: string[];
  channels: Channel[];
  by: string;
  /** published: queued, scheduled or awaiting_approval. */
  status?: string;
  delivery?: EventDelivery;
};

/** Never an address in the job: the delivery adds it for endpoints that opted in. */
export type SubscriberEventData = {
  subscriberId: number;
  channel: Channel;
  alertId?: string;
  rev?: number;
  reason?: string;
};

export type DomainEvent =
  | { type: 'alert.published' | 'alert.delivered' | 'alert.cancelled' | 'alert.corrected'; id: string; data: AlertEventData }
  | { type: 'subscriber.bounced' | 'subscriber.complained'; id: string; data: SubscriberEventData };

export type EventDeps = Pick<Domain, 'webhooks' | 'log'> & { queues: { webhook: Queue<WebhookJob> } };

/** Queues the event for every enabled endpoint that asked for it; never throws. */
export async function emit(d: EventDeps, event: DomainEvent): Promise<void> {
  try {
    const endpoints = await d.webhooks.subscribedTo(event.type);
    if (endpoints.length === 0) return;
    await enqueueWebhook(
      d.queues.webhook,
      endpoints.map((e) => e.id),
      { id: event.id, type: event.type, timestamp: new Date().toISOString(), data: event.data },
    );
  } catch (err) {
    d.log.warn({ event: event.type, err: err instanceof Error ? err.message : String(err) }, 'webhook event not queued');
  }
}

/** The event's fields of one revision. Tests are not news: callers skip them. */
export function alertData(alert: Alert, extra: Partial<AlertEventData> = {}): AlertEventData {
  return {
    alertId: alert.id,
    rev: alert.rev,
    kind: alert.kind,
    title: alert.title,
    body: alert.body,
    ...(alert.url ? { url: alert.url } : {}),
    ...(alert.story ? { story: alert.story } : {}),
    topics: alert.topics,
    channels: alert.channels,
    by: alert.createdBy,
    ...extra,
  };
}

export function eventDelivery(figures: Record<Channel, Figures>): EventDelivery {
  const f = (ch: Channel) => ({ targeted: figures[ch].targeted ?? 0, sent: figures[ch].sent, failed: figures[ch].failed });
  return { push: { ...f('push'), expired: figures.push.expired }, email: { ...f('email'), bounced: figures.email.expired } };
}

/** Ids are stable per fact, so a receiver can drop a repeat (Standard Webhooks' idempotency key). */
export const eventId = (...parts: (string | number)[]) => `msg_${parts.join('_').replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** A revision's work is all done (called once, by whoever finished it): alert.delivered with its final counts. */
export async function revisionDelivered(d: EventDeps & Pick<Domain, 'alerts' | 'progress'>, id: string, rev: number): Promise<void> {
  try {
    const [alert, st] = await Promise.all([d.alerts.getRev(id, rev), d.progress.revisions.read(id, rev)]);
    if (!alert || alert.kind === 'test') return;
    await emit(d, {
      type: 'alert.delivered',
      id: eventId(id, rev, 'delivered'),
      data: alertData(alert, { status: 'delivered', delivery: eventDelivery(st.figures) }),
    });
  } catch (err) {
    d.log.warn({ alertId: id, rev, err: err instanceof Error ? err.message : String(err) }, 'alert.delivered not queued');
  }
}
