// Hop 5, Web Push: the payload is built once per alert; each recipient gets it encrypted for its
// own keys and POSTed to its endpoint. The push service's answer decides the outcome.
import type { Alert } from '../store/alerts';
import type { PushSubscribers } from '../store/push-subscribers';
import type { PushSender } from '../push/sender';
import type { DeliveryChannel, SendOutcome } from '../../workers/deliver';

export interface PushPayload { id: string; title: string; body: string; url: string; topics: string[]; urgency: string; sentAt: string }

export function pushPayload(alert: Alert, sentAt = new Date()): PushPayload {
  return { id: alert.id, title: alert.title, body: alert.body, url: alert.url ?? '', topics: alert.topics, urgency: alert.urgency, sentAt: sentAt.toISOString() };
}

/** Maps a push service's HTTP status to what we do about it. */
export function classifyPushStatus(status: number, retryAfterMs?: number): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 404 || status === 410) return { kind: 'expired' };
  if (status === 429 || status >= 500) return { kind: 'retry', reason: `http ${status}`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  // 400/401/403/413 and the rest: our request or our VAPID identity is wrong. Never delete the
  // subscriber for it: a misconfiguration must not wipe a whole platform's subscribers.
  return { kind: 'failed', reason: `http ${status}` };
}

export class PushChannel implements DeliveryChannel {
  readonly name = 'push' as const;

  constructor(
    private readonly subscribers: PushSubscribers,
    private readonly sender: PushSender,
    private readonly opts: { ttlSeconds: number; concurrency: number },
  ) {}

  get concurrency(): number { return this.opts.concurrency; }

  async prepare(alert: Alert, ids: readonly number[]): Promise<Map<number, () => Promise<SendOutcome>>> {
    const records = await this.subscribers.getMany(ids);
    const payload = JSON.stringify(pushPayload(alert));
    const out = new Map<number, () => Promise<SendOutcome>>();
    for (const [id, r] of records) {
      out.set(id, async () => {
        const res = await this.sender.send({
          endpoint: r.endpoint, origin: r.origin, p256dh: r.p256dh, auth: r.auth,
          payload, ttlSeconds: this.opts.ttlSeconds, urgency: alert.urgency,
        });
        return classifyPushStatus(res.status, res.retryAfterMs);
      });
    }
    return out;
  }

  async forget(id: number): Promise<void> {
    await this.subscribers.remove(id);
  }

  async close(): Promise<void> {
    this.sender.close();
  }
}
