// Hop 5, Web Push: the payload is built once per batch (body cut to fit, story → Topic and tag);
// each recipient gets it encrypted for its own keys and POSTed to its endpoint. The push
// service's answer decides the outcome.
import type { PushSubscribers } from '../store/push-subscribers';
import type { PushKeys } from '../store/push-keys';
import type { PushResponse, PushSender } from '../push/sender';
import { PushTransportError } from '../push/origin-client';
import { refusalKey } from '../push/service-kind';
import { buildPushPayload, receiptTemplate, replacementKey } from '../push/payload';
import type { TokenSigner } from '../tokens';
import type { DeliveryChannel, SendOutcome } from './channel';
import { asSent, type Strings } from '../alert-text';
import type { Alert, Urgency } from '../model';

/**
 * The complete status matrix. Only 404 and 410 ever remove a subscriber: a 400/401/403 means
 * our request or our VAPID identity is wrong, and must not wipe a platform's subscribers.
 */
export function classifyPushResponse(res: PushResponse): SendOutcome {
  if ('refused' in res) return { kind: 'failed', reason: 'endpoint off the allowlist' };
  if ('paused' in res) return { kind: 'retry', reason: 'http 429', rateLimited: true, retryAfterMs: res.paused };
  const { status, retryAfterMs } = res;
  const after = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if (status >= 200 && status < 300) return { kind: 'sent' };
  if (status === 404 || status === 410) return { kind: 'expired' };
  if (status === 429) return { kind: 'retry', reason: 'http 429', rateLimited: true, ...after };
  if (status >= 500) return { kind: 'retry', reason: `http ${status}`, ...after };
  if (status >= 300 && status < 400) return { kind: 'failed', reason: `http ${status} (redirects are not followed)` };
  // 400, 401, 403, 413 and the rest: retrying the same request cannot succeed.
  return { kind: 'failed', reason: `http ${status}` };
}

/** Timeouts, oversized answers and broken connections are retried with the batch. */
export function classifyPushError(err: unknown): SendOutcome {
  if (err instanceof PushTransportError) return { kind: 'retry', reason: err.code };
  return { kind: 'retry', reason: 'error' };
}

/** The accepted outcome of each push service (a closed set), built once: most answers are a 201. */
const SENT = new Map<string, SendOutcome>();

/** Adds the push service, and for a refusal its key ("403 BadJwtToken"), to a settled outcome. */
function tagged(outcome: SendOutcome, service: string, res: PushResponse): SendOutcome {
  if (outcome.kind === 'retry') return outcome;
  if (outcome.kind === 'sent') {
    let sent = SENT.get(service);
    if (!sent) SENT.set(service, (sent = { kind: 'sent', group: service }));
    return sent;
  }
  const detail = 'status' in res ? { detail: refusalKey(res.status, res.reason) } : {};
  return { ...outcome, group: service, ...detail };
}

export class PushChannel implements DeliveryChannel {
  readonly name = 'push' as const;

  constructor(
    private readonly subscribers: PushSubscribers,
    private readonly keys: PushKeys,
    private readonly sender: PushSender,
    private readonly tokens: TokenSigner,
    private readonly opts: {
      ttlSeconds: Record<Urgency, number>;
      concurrency: number;
      strings: Strings;
      testIds: readonly number[];
      /** Declarative Web Push payloads for apple subscriptions, all, or none (PUSH_DECLARATIVE). */
      declarative: 'apple' | 'all' | 'off';
      /** Where a declarative notification of an alert without a URL leads. */
      site: string;
    },
  ) {}

  /** A test goes to the push subscription ids listed in TEST_RECIPIENTS. */
  ownRecipients(alert: Alert): readonly number[] | null {
    return alert.kind === 'test' ? this.opts.testIds : null;
  }

  get concurrency(): number {
    return this.opts.concurrency;
  }

  async prepare(alert: Alert, ids: readonly number[]): Promise<Map<number, () => Promise<SendOutcome>>> {
    // Each push is signed with the key its subscription was made with (key rotation).
    const [records, keyOf] = await Promise.all([this.subscribers.getLazy(ids), this.keys.keysOf(ids)]);
    // A correction or a test says so in the notification's title (see alert-text.ts).
    const sent = asSent(alert, 'push', this.opts.strings);
    // Built once per batch; each recipient's signed receipt is spliced in (payload.ts).
    const plain = receiptTemplate(buildPushPayload(sent).json);
    // Built once per batch too, and only if some recipient gets it.
    let declarative: { prefix: Buffer; suffix: Buffer } | undefined;
    const { declarative: mode, site } = this.opts;
    const templateFor = (service: string) => {
      if (mode === 'off' || (mode === 'apple' && service !== 'apple')) return plain;
      return (declarative ??= receiptTemplate(buildPushPayload(sent, new Date(), { declarative: true, site }).json));
    };
    const topic = replacementKey(alert);
    const ttlSeconds = this.opts.ttlSeconds[alert.urgency];
    const out = new Map<number, () => Promise<SendOutcome>>();
    for (const [id, read] of records) {
      out.set(id, async () => {
        try {
          const r = read();
          const service = this.sender.serviceOf(r.endpoint);
          const { prefix, suffix } = templateFor(service);
          // One buffer, the receipt written in place (its characters are ASCII): no copy per part.
          const receipt = this.tokens.signDelivery('receipt', alert.id, alert.rev, id);
          const plaintext = Buffer.allocUnsafe(prefix.length + receipt.length + suffix.length);
          prefix.copy(plaintext, 0);
          plaintext.write(receipt, prefix.length, 'latin1');
          suffix.copy(plaintext, prefix.length + receipt.length);
          const res = await this.sender.send({
            endpoint: r.endpoint,
            p256dh: r.p256dh,
            auth: r.auth,
            plaintext,
            vapidKey: keyOf.get(id),
            ttlSeconds,
            urgency: alert.urgency,
            topic,
          });
          return tagged(classifyPushResponse(res), service, res);
        } catch (err) {
          return classifyPushError(err);
        }
      });
    }
    return out;
  }

  async forget(_alert: Alert, id: number): Promise<void> {
    await this.subscribers.remove(id);
  }

  close(): Promise<void> {
    this.sender.close();
    return Promise.resolve();
  }
}
