// Hop 5, Web Push: the payload is built once per batch (body cut to fit, story → Topic and tag);
// each recipient gets it encrypted for its own keys and POSTed to its endpoint. The push
// service's answer decides the outcome.
import type { PushSubscribers } from '../store/push-subscribers';
import type { PushKeys } from '../store/push-keys';
import type { PushQuarantine } from '../store/push-quarantine';
import type { PushResponse, PushSender } from '../push/sender';
import { PushTransportError } from '../push/origin-client';
import { refusalKey } from '../push/service-kind';
import { buildPushPayload, receiptTemplate, replacementKey } from '../push/payload';
import type { TokenSigner } from '../tokens';
import type { DeliveryChannel, SendOutcome } from './channel';
import { pushInLanguage, textLanguage, type Strings } from '../alert-text';
import type { Alert, Lang, Urgency } from '../model';

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
      /** The UI strings of a language (labels such as « Rectificatif : »). */
      strings: (lang: Lang) => Strings;
      /** The newsroom's language: that of alerts' own text, and of readers who chose none. */
      defaultLang: Lang;
      testIds: readonly number[];
      /** Declarative Web Push payloads for apple subscriptions, all, or none (PUSH_DECLARATIVE). */
      declarative: 'apple' | 'all' | 'off';
      /** Where a declarative notification of an alert without a URL leads. */
      site: string;
      /** Counts repeated refusals and quarantines their subscribers (absent: no quarantine). */
      quarantine?: PushQuarantine;
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
    // Each push is signed with the key its subscription was made with (key rotation); each reader
    // gets the alert in their language (a bit per language, read for the batch's bucket). Who has
    // refusals on record: only their success costs a write (clearing the count).
    const [records, keyOf, langOf, struck] = await Promise.all([
      this.subscribers.getLazy(ids),
      this.keys.keysOf(ids),
      alert.texts ? this.subscribers.languages.of(ids) : new Map<number, Lang>(),
      this.opts.quarantine?.struck(ids) ?? new Set<number>(),
    ]);
    const { declarative: mode, site, defaultLang } = this.opts;
    const currentKey = this.keys.current;
    // Built once per batch and language, and only for a language some recipient reads; each
    // recipient's signed receipt is spliced in (payload.ts).
    const built = new Map<string, { prefix: Buffer; suffix: Buffer }>();
    const templateFor = (readerLang: Lang, service: string) => {
      const lang = textLanguage(alert, readerLang, defaultLang);
      const declarative = mode === 'all' || (mode === 'apple' && service === 'apple');
      const key = `${lang} ${declarative}`;
      let t = built.get(key);
      if (!t) {
        // A correction or a test says so in the notification's title (see alert-text.ts).
        const sent = pushInLanguage(alert, lang, this.opts.strings(lang));
        t = receiptTemplate(buildPushPayload(sent, new Date(), { declarative, site, currentKey }, lang).json);
        built.set(key, t);
      }
      return t;
    };
    const topic = replacementKey(alert);
    const ttlSeconds = this.opts.ttlSeconds[alert.urgency];
    const out = new Map<number, () => Promise<SendOutcome>>();
    for (const [id, read] of records) {
      out.set(id, async () => {
        try {
          const r = read();
          const service = this.sender.serviceOf(r.endpoint);
          const { prefix, suffix } = templateFor(langOf.get(id) ?? defaultLang, service);
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
          const outcome = tagged(classifyPushResponse(res), service, res);
          return 'status' in res ? await this.counted(id, outcome, res.status, struck.has(id)) : outcome;
        } catch (err) {
          return classifyPushError(err);
        }
      });
    }
    return out;
  }

  /** The quarantine's count: a strike for a qualifying refusal, cleared by a delivery after strikes. */
  private async counted(id: number, outcome: SendOutcome, status: number, hasStrikes: boolean): Promise<SendOutcome> {
    const q = this.opts.quarantine;
    if (!q) return outcome;
    // The answer stands whatever happens here: a lost count must not send the push again.
    try {
      if (outcome.kind === 'sent' && hasStrikes) await q.clear(id);
      if (outcome.kind === 'failed' && (await q.strike(id, status))) return { ...outcome, quarantined: true };
    } catch {
      /* counted at the next refusal */
    }
    return outcome;
  }

  async forget(_alert: Alert, id: number): Promise<void> {
    await this.subscribers.remove(id);
  }

  close(): Promise<void> {
    this.sender.close();
    return Promise.resolve();
  }
}
