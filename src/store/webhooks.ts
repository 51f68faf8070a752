// Outbound webhook endpoints registered by chiefs, and what their last deliveries answered. An
// endpoint is one small hash (its URL, the events it wants, its signing secret, whether it is
// enabled and since when it has been failing); the delivery log is a list capped at LOG_SIZE, so
// an endpoint that fails for a week still costs a few kilobytes. Every key shares the {wh} slot.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Keys } from './keys';
import type { RedisClient } from './redis';
import { DomainError, notFound } from '../errors';

/** Chiefs register endpoints one by one; a few dozen is already a lot of integrations. */
export const MAX_WEBHOOKS = 50;
/** Delivery attempts kept per endpoint, newest first. */
export const LOG_SIZE = 50;

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  /** The endpoint asked for subscribers' email addresses in subscriber.* events. */
  includeAddresses: boolean;
  enabled: boolean;
  createdAt: string;
  createdBy: string;
  /** Why and when it was disabled, when it was (`failing`: no success for WEBHOOK_DISABLE_AFTER). */
  disabled?: { at: string; reason: string };
  /** Epoch ms of the first failure since the last success; absent while it answers. */
  failingSince?: number;
}

/** One attempt as the log keeps it: never the body we sent, at most the start of the answer. */
export interface DeliveryRecord {
  at: string;
  eventId: string;
  type: string;
  attempt: number;
  /** HTTP status, or 0 when there was no answer (refused, timeout, TLS). */
  status: number;
  ok: boolean;
  durationMs: number;
  error?: string;
  response?: string;
}

export type WebhookChanges = Partial<Pick<WebhookEndpoint, 'url' | 'events' | 'includeAddresses' | 'enabled'>>;

/** A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export class Webhooks {
  private readonly sealKey?: Buffer;

  /** `secretsKey` (SECRETS_KEY): signing secrets are kept encrypted, like the generated secrets. */
  constructor(
    private readonly redis: RedisClient,
    private readonly k: Keys,
    secretsKey?: string,
  ) {
    if (secretsKey) this.sealKey = Buffer.from(hkdfSync('sha256', secretsKey, k.webhookIds, 'depeche webhook secrets v1', 32));
  }

  /** AES-256-GCM bound to the endpoint's key name; in clear without SECRETS_KEY. */
  private seal(id: string, secret: string): string {
    if (!this.sealKey) return secret;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.sealKey, iv).setAAD(Buffer.from(this.k.webhook(id)));
    const data = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return `sealed:${Buffer.concat([iv, c.getAuthTag(), data]).toString('base64url')}`;
  }

  private open(id: string, stored: string): string {
    if (!stored.startsWith('sealed:')) return stored;
    if (!this.sealKey) throw new Error('webhook secrets in Redis are encrypted: set SECRETS_KEY to the key the other processes use');
    const buf = Buffer.from(stored.slice('sealed:'.length), 'base64url');
    const d = createDecipheriv('aes-256-gcm', this.sealKey, buf.subarray(0, 12)).setAAD(Buffer.from(this.k.webhook(id)));
    d.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
  }

  async create(
    input: { url: string; events: string[]; includeAddresses: boolean },
    by: string,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    const id = `wh_${randomBytes(8).toString('hex')}`;
    // Added first, counted after: two chiefs registering at once cannot both slip past the cap.
    if ((await this.redis.sadd(this.k.webhookIds, id)) === 1 && (await this.redis.scard(this.k.webhookIds)) > MAX_WEBHOOKS) {
      await this.redis.srem(this.k.webhookIds, id);
      throw new DomainError('conflict', 'too_many_webhooks', `at most ${MAX_WEBHOOKS} webhook endpoints; delete one first`);
    }
    const secret = newWebhookSecret();
    const endpoint: WebhookEndpoint = { id, ...input, enabled: true, createdAt: new Date().toISOString(), createdBy: by };
    await this.redis.hset(this.k.webhook(id), {
      url: endpoint.url,
      events: endpoint.events.join(','),
      includeAddresses: endpoint.includeAddresses ? '1' : '0',
      enabled: '1',
      createdAt: endpoint.createdAt,
      createdBy: by,
      secret: this.seal(id, secret),
    });
    return { endpoint, secret };
  }

  async get(id: string): Promise<WebhookEndpoint | null> {
    const h = await this.redis.hgetall(this.k.webhook(id));
    return h.url ? parse(id, h) : null;
  }

  /** The endpoint and its secret, for signing a delivery; null once deleted. */
  async withSecret(id: string): Promise<{ endpoint: WebhookEndpoint; secret: string } | null> {
    const h = await this.redis.hgetall(this.k.webhook(id));
    return h.url && h.secret ? { endpoint: parse(id, h), secret: this.open(id, h.secret) } : null;
  }

  async list(): Promise<WebhookEndpoint[]> {
    const ids = (await this.redis.smembers(this.k.webhookIds)).sort();
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all.filter((e): e is WebhookEndpoint => e !== null);
  }

  /** Enabled endpoints that asked for this event type. */
  async subscribedTo(type: string): Promise<WebhookEndpoint[]> {
    return (await this.list()).filter((e) => e.enabled && e.events.includes(type));
  }

  /** Re-enabling forgets the failures: the endpoint gets a fresh WEBHOOK_DISABLE_AFTER. */
  async update(id: string, changes: WebhookChanges): Promise<WebhookEndpoint> {
    if (!(await this.redis.exists(this.k.webhook(id)))) throw notFound('webhook');
    const fields: Record<string, string> = {};
    if (changes.url !== undefined) fields.url = changes.url;
    if (changes.events !== undefined) fields.events = changes.events.join(',');
    if (changes.includeAddresses !== undefined) fields.includeAddresses = changes.includeAddresses ? '1' : '0';
    if (changes.enabled !== undefined) fields.enabled = changes.enabled ? '1' : '0';
    const m = this.redis.multi();
    if (Object.keys(fields).length > 0) m.hset(this.k.webhook(id), fields);
    if (changes.enabled === true) m.hdel(this.k.webhook(id), 'failingSince', 'disabledAt', 'disabledReason');
    if (changes.enabled === false) m.hset(this.k.webhook(id), { disabledAt: new Date().toISOString(), disabledReason: 'by_editor' });
    await m.exec();
    return (await this.get(id))!;
  }

  async remove(id: string): Promise<void> {
    const [[, removed]] = (await this.redis.multi().srem(this.k.webhookIds, id).del(this.k.webhook(id), this.k.webhookLog(id)).exec()) as [
      [Error | null, number],
      [Error | null, number],
    ];
    if (removed === 0) throw notFound('webhook');
  }

  async log(id: string, record: DeliveryRecord): Promise<void> {
    await this.redis
      .multi()
      .lpush(this.k.webhookLog(id), JSON.stringify(record))
      .ltrim(this.k.webhookLog(id), 0, LOG_SIZE - 1)
      .exec();
  }

  async deliveries(id: string): Promise<DeliveryRecord[]> {
    return (await this.redis.lrange(this.k.webhookLog(id), 0, LOG_SIZE - 1)).map((l) => JSON.parse(l) as DeliveryRecord);
  }

  /** An answer arrived: the endpoint is healthy again. */
  async succeeded(id: string): Promise<void> {
    await this.redis.hdel(this.k.webhook(id), 'failingSince');
  }

  /**
   * An attempt failed. Returns true when the endpoint has now failed for `disableAfterMs` without
   * a success and was disabled by this call (only one caller sees true).
   */
  async failed(id: string, disableAfterMs: number, now = Date.now()): Promise<boolean> {
    const key = this.k.webhook(id);
    // HSETNX keeps the first failure's time; only an endpoint that still exists is touched.
    if (!(await this.redis.exists(key))) return false;
    await this.redis.hsetnx(key, 'failingSince', now);
    const since = Number((await this.redis.hget(key, 'failingSince')) ?? now);
    if (now - since < disableAfterMs) return false;
    const res = await this.redis.eval(DISABLE, 1, key, new Date(now).toISOString());
    return res === 1;
  }
}

// Disables once: a second worker failing at the same moment finds it already disabled.
const DISABLE = `
if redis.call('HGET', KEYS[1], 'enabled') ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'enabled', '0', 'disabledAt', ARGV[1], 'disabledReason', 'failing')
return 1`;

function parse(id: string, h: Record<string, string>): WebhookEndpoint {
  return {
    id,
    url: h.url ?? '',
    events: (h.events ?? '').split(',').filter(Boolean),
    includeAddresses: h.includeAddresses === '1',
    enabled: h.enabled === '1',
    createdAt: h.createdAt ?? '',
    createdBy: h.createdBy ?? '',
    ...(h.disabledAt ? { disabled: { at: h.disabledAt, reason: h.disabledReason ?? 'failing' } } : {}),
    ...(h.failingSince ? { failingSince: Number(h.failingSince) } : {}),
  };
}
