// Hop 5, email: the alert is rendered and compiled to a MIME message once per alert (cached), each
// recipient gets its own signed unsubscribe and preference links spliced in, and the SMTP answer
// decides the outcome.
import type { EmailSubscribers } from '../store/email-subscribers';
import type { Suppressions } from '../store/suppressions';
import type { SoftBounces } from '../store/soft-bounces';
import type { EmailLinks, Renderer } from '../email/render';
import { AlertMime } from '../email/mime';
import type { MailTransport } from '../email/transport';
import { asciiAddress } from '../email/address';
import type { TokenSigner } from '../tokens';
import type { DeliveryChannel, SendOutcome } from './channel';
import type { Alert, Lang } from '../model';
import { inLanguage, textLanguage } from '../alert-text';

export function emailLinks(baseUrl: string, tokens: TokenSigner, id: number): EmailLinks {
  return {
    unsubscribe: `${baseUrl}/api/subscriptions/email/unsubscribe?token=${tokens.sign('unsubscribe', id)}`,
    preferences: `${baseUrl}/api/subscriptions/email/preferences?token=${tokens.sign('prefs', id)}`,
  };
}

/**
 * Enhanced status codes (RFC 3463) that say the mailbox itself does not exist or is disabled.
 * 5.7.x (policy: our IP is listed, spam suspicion), 5.2.2 (mailbox full) and the like are refusals
 * of the message, not of the address: suppressing on those would wipe a whole provider's readers
 * the day our IP lands on a blocklist.
 */
const BAD_MAILBOX = /^5\.(1\.\d+|2\.1|4\.1)$/;

/**
 * How an SMTP error ends for one recipient:
 * - 5xx on RCPT TO naming a bad mailbox (or with no enhanced code, like a bare 550) → hard bounce,
 *   reported as `expired` (the recipient no longer exists; the channel's `forget` suppresses it);
 * - any other 5xx → failed, no retry (the server said never);
 * - 4xx, refused connections, timeouts, dropped sockets → retry with backoff.
 */
export function classifySmtpError(err: unknown): SendOutcome {
  const e = err as { responseCode?: number; code?: string; command?: string; response?: string };
  const code = e.responseCode;
  if (typeof code === 'number' && code >= 500) {
    const enhanced = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(e.response ?? '')?.[1];
    if (e.command === 'RCPT TO' && (enhanced === undefined || BAD_MAILBOX.test(enhanced))) return { kind: 'expired' };
    return { kind: 'failed', reason: `smtp ${code}${enhanced ? ` ${enhanced}` : ''}` };
  }
  return { kind: 'retry', reason: code ? `smtp ${code}` : (e.code ?? 'smtp error') };
}

export class EmailChannel implements DeliveryChannel {
  readonly name = 'email' as const;
  private readonly compiled = new Map<string, AlertMime>();

  constructor(
    private readonly subscribers: EmailSubscribers,
    private readonly renderer: Renderer,
    private readonly transport: MailTransport,
    private readonly tokens: TokenSigner,
    private readonly opts: {
      baseUrl: string;
      concurrency: number;
      messageIdDomain: string;
      from: string;
      testAddresses: readonly string[];
      /** VERP: each message's envelope sender names it, so a late bounce finds its alert and reader. */
      bounce?: { local: string; domain: string };
      /** Told after a hard bounce suppressed a subscriber (the subscriber.bounced webhook). */
      onBounced?: (subscriberId: number, alert: Alert) => Promise<void>;
      /** Readers with soft bounces on record: an accepted message breaks their row. */
      softBounces?: SoftBounces;
    },
    private readonly suppressions?: Suppressions,
  ) {}

  get concurrency(): number {
    return this.opts.concurrency;
  }

  /** A test's email ids are positions (from 1) in TEST_RECIPIENTS' addresses, not subscribers. */
  ownRecipients(alert: Alert): readonly number[] | null {
    return alert.kind === 'test' ? this.opts.testAddresses.map((_, i) => i + 1) : null;
  }

  async prepare(alert: Alert, ids: readonly number[]): Promise<Map<number, () => Promise<SendOutcome>>> {
    const out = new Map<number, () => Promise<SendOutcome>>();
    // The internal test list has no subscription to leave: its links lead to the site, no list headers.
    const test = alert.kind === 'test';
    const [recipients, strikes] = await Promise.all([this.recipients(alert, ids), test ? null : this.opts.softBounces?.holders(ids)]);
    const message = { ref: `${alert.id}:${alert.rev}`, sentAt: Date.parse(alert.createdAt) };
    for (const [id, { address, lang }] of recipients) {
      // Compiled once per alert and language (cached), whoever reads it.
      const mime = this.compile(alert, lang);
      out.set(id, async () => {
        const to = asciiAddress(address);
        // The same id on every attempt: should a retry follow an answer lost on the wire, the
        // receiving side can recognise the duplicate.
        const messageId = `<${alert.id}.${alert.rev}.${id}@${this.opts.messageIdDomain}>`;
        // The article link counts a click (GET /r/<token>) for subscribers; a test goes straight there.
        const links = test
          ? { unsubscribe: this.opts.baseUrl, preferences: this.opts.baseUrl }
          : {
              ...emailLinks(this.opts.baseUrl, this.tokens, id),
              ...(alert.url ? { article: `${this.opts.baseUrl}/r/${this.tokens.signDelivery('click', alert.id, alert.rev, id)}` } : {}),
            };
        let raw: string;
        try {
          raw = mime.forRecipient({ to, messageId, links });
        } catch {
          return { kind: 'failed', reason: 'address unusable in a header' };
        }
        try {
          await this.transport.send({ to, raw, messageId, ...(test ? {} : this.envelopeFrom(alert, id)) });
        } catch (err) {
          return classifySmtpError(err);
        }
        // Only a reader with soft bounces on record costs a write here (the batch's one read found
        // them). The message has left: a failed write must not turn it into a retry, and a resend.
        if (strikes?.has(id)) await this.opts.softBounces?.accepted(id, message).catch(() => undefined);
        return { kind: 'sent' };
      });
    }
    return out;
  }

  /** `BOUNCE_LOCAL+<token>@BOUNCE_DOMAIN`, or nothing (MAIL_FROM's address) without BOUNCE_DOMAIN. */
  private envelopeFrom(alert: Alert, id: number): { envelopeFrom?: string } {
    const b = this.opts.bounce;
    if (!b) return {};
    return { envelopeFrom: `${b.local}+${this.tokens.signVerp({ alertId: alert.id, rev: alert.rev, subscriberId: id })}@${b.domain}` };
  }

  /** A hard bounce: the address is suppressed (status `bounced`, out of the active audience). */
  async forget(alert: Alert, id: number): Promise<void> {
    // A test's ids are positions in TEST_RECIPIENTS, not subscribers: nobody to suppress.
    if (alert.kind === 'test') return;
    // Only the call that moved the record tells: a bounce recorded twice is one event.
    const before = await this.subscribers.get(id);
    await this.subscribers.markBounced(id);
    if (before && before.status !== 'bounced' && this.opts.onBounced) await this.opts.onBounced(id, alert);
  }

  /**
   * id → address and language. A test's ids are positions in TEST_RECIPIENTS, never subscriber
   * ids; the newsroom's list reads the newsroom's language.
   */
  private async recipients(alert: Alert, ids: readonly number[]): Promise<Map<number, { address: string; lang: Lang }>> {
    const out = new Map<number, { address: string; lang: Lang }>();
    if (alert.kind === 'test') {
      for (const id of ids) {
        const a = this.opts.testAddresses[id - 1];
        if (a) out.set(id, { address: a, lang: this.renderer.lang });
      }
      return out;
    }
    // Re-checked at send time: someone who unsubscribed after publishing gets nothing, and an
    // address on the suppression list gets nothing whatever its subscription says.
    for (const [id, sub] of await this.subscribers.getMany(ids))
      if (sub.status === 'confirmed') out.set(id, { address: sub.email, lang: sub.lang ?? this.renderer.lang });
    const barred = await this.suppressions?.suppressed([...out.values()].map((r) => r.address));
    if (barred?.size) for (const [id, r] of out) if (barred.has(r.address)) out.delete(id);
    return out;
  }

  /** The reader's language throughout: the template's words, and the alert's text when it has one. */
  private compile(alert: Alert, lang: Lang): AlertMime {
    const key = `${alert.id}-${alert.rev}-${lang}`;
    let c = this.compiled.get(key);
    if (!c) {
      const listId = alert.kind === 'test' ? undefined : `<alertes.${this.opts.messageIdDomain}>`;
      const textLang = textLanguage(alert, lang, this.renderer.lang);
      c = new AlertMime(this.renderer.in(lang).alertEmail(inLanguage(alert, lang), textLang), { from: this.opts.from, listId });
      this.compiled.set(key, c);
      // A worker sees few alerts at once; keep only the most recent ones.
      if (this.compiled.size > 32) this.compiled.delete(this.compiled.keys().next().value!);
    }
    return c;
  }

  close(): Promise<void> {
    this.transport.close();
    return Promise.resolve();
  }
}
