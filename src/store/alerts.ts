// Alerts and their delivery figures. Per-recipient outcomes are bits (sent / failed / expired per
// alert revision and channel); a counter moves only when its bit flips from 0 to 1, so a batch
// that runs twice after a crash can never count, or send, anyone twice.
import type { Channel, Keys } from './keys';
import type { RedisClient } from './redis';
import { defineScripts } from './scripts';
import type { Urgency } from '../schemas';

export type { Urgency };
export type AlertStatus = 'queued' | 'sending' | 'delivered';
export type Outcome = 'sent' | 'failed' | 'expired';

export interface Alert {
  id: string;
  rev: number;
  title: string;
  body: string;
  url?: string;
  /** Alerts of one story replace each other on the push service and on screen. */
  story?: string;
  topics: string[];
  urgency: Urgency;
  channels: Channel[];
  createdAt: string;
  createdBy: string;
}

export interface ChannelDelivery { targeted: number; sent: number; failed: number }
export interface AlertView extends Alert {
  status: AlertStatus;
  /**
   * push.clicked: notification clicks reported by subscribers' service workers. The `expired`
   * outcome means "this recipient no longer exists": for push a 404/410 from the push service, for
   * email a hard bounce; the email side shows it under its usual name, `bounced`.
   */
  delivery: { push: ChannelDelivery & { expired: number; clicked: number }; email: ChannelDelivery & { bounced: number } };
}

export class Alerts {
  constructor(private readonly redis: RedisClient, private readonly k: Keys) {
    defineScripts(redis);
  }

  async create(alert: Alert): Promise<void> {
    await this.redis.multi()
      .hset(this.k.alert(alert.id), { data: JSON.stringify(alert), createdAt: Date.parse(alert.createdAt) })
      .exec();
    await this.redis.zadd(this.k.alertIndex, Date.parse(alert.createdAt), alert.id);
  }

  async get(id: string): Promise<Alert | null> {
    const raw = await this.redis.hget(this.k.alert(id), 'data');
    return raw ? (JSON.parse(raw) as Alert) : null;
  }

  async view(id: string): Promise<AlertView | null> {
    const [alert, counts] = await Promise.all([this.get(id), this.redis.hgetall(this.k.alertCounts(id))]);
    if (!alert) return null;
    const n = (f: string) => Number(counts[f] ?? 0);
    let status: AlertStatus = 'queued';
    if (alert.channels.some((ch) => counts[`${ch}:batches`] !== undefined)) status = 'sending';
    if (alert.channels.every((ch) => counts[`${ch}:batches`] !== undefined && n(`${ch}:batchesDone`) >= n(`${ch}:batches`))) status = 'delivered';
    return {
      ...alert,
      status,
      delivery: {
        push: { targeted: n('push:targeted'), sent: n('push:sent'), failed: n('push:failed'), expired: n('push:expired'), clicked: n('push:clicked') },
        email: { targeted: n('email:targeted'), sent: n('email:sent'), failed: n('email:failed'), bounced: n('email:expired') },
      },
    };
  }

  /** Ids of the alerts created since `sinceMs`, newest first (the console's live feed watches them). */
  async recentIds(sinceMs: number, limit: number): Promise<string[]> {
    return this.redis.zrevrangebyscore(this.k.alertIndex, '+inf', sinceMs, 'LIMIT', 0, limit);
  }

  /** Newest first. */
  async list(limit = 50, before?: number): Promise<AlertView[]> {
    const ids = await this.redis.zrevrangebyscore(this.k.alertIndex, before !== undefined ? `(${before}` : '+inf', '-inf', 'LIMIT', 0, limit);
    const views = await Promise.all(ids.map((id) => this.view(id)));
    return views.filter((v): v is AlertView => v !== null);
  }

  async setTargeted(id: string, ch: Channel, targeted: number): Promise<void> {
    await this.redis.hset(this.k.alertCounts(id), `${ch}:targeted`, targeted);
  }

  /** Called by the fan-out once every batch of a channel is queued. */
  async setBatches(id: string, ch: Channel, batches: number): Promise<void> {
    await this.redis.hset(this.k.alertCounts(id), `${ch}:batches`, batches);
  }

  async batchDone(id: string, ch: Channel, batchIndex: number): Promise<void> {
    await this.redis.dpBatchDone(this.k.alertCounts(id), ch, batchIndex);
  }

  /** Which of these subscribers already have an outcome for this revision (sent, failed or expired). */
  async settled(id: string, rev: number, ch: Channel, fromByte: number, toByte: number): Promise<Buffer> {
    const [sent, failed, expired] = await Promise.all((['sent', 'failed', 'expired'] as const).map((kind) =>
      this.redis.getrangeBuffer(this.k.alertBits(id, rev, ch, kind), fromByte, toByte)));
    const len = toByte - fromByte + 1;
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) out[i] = (sent![i] ?? 0) | (failed![i] ?? 0) | (expired![i] ?? 0);
    return out;
  }

  /** Counts a click on the alert's notification; null when the alert does not exist. */
  async click(id: string): Promise<{ counted: boolean } | null> {
    const r = await this.redis.dpClick(this.k.alert(id), this.k.alertCounts(id));
    return r < 0 ? null : { counted: r === 1 };
  }

  /** Records one recipient's outcome; returns false when it was already recorded. */
  async record(id: string, rev: number, ch: Channel, subscriberId: number, outcome: Outcome): Promise<boolean> {
    const r = await this.redis.dpRecordOutcome(this.k.alertBits(id, rev, ch, outcome), this.k.alertCounts(id), subscriberId, `${ch}:${outcome}`);
    return r === 1;
  }
}
