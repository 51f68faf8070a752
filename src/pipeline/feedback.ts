// What happens when mail comes back after the send, whoever reports it: a delivery-status report
// to a VERP address, a feedback-loop complaint, or a provider's signed webhook. One place decides
// what each report does to the reader, the suppression list and the alert's figures.
import type { Alerts } from '../store/alerts';
import type { EmailSubscribers } from '../store/email-subscribers';
import type { Suppressions } from '../store/suppressions';
import { SOFT_BOUNCE_LIMIT, type SentMessage, type SoftBounces } from '../store/soft-bounces';
import type { Logger } from '../log';
import type { MessageRef } from '../tokens';

/** `hard`: the mailbox is gone (5.x.x); `soft`: not now (4.x.x); `complaint`: « this is spam ». */
export type FeedbackKind = 'hard' | 'soft' | 'complaint';
/** Who told us: the inbound listener or a provider's webhook. */
export type FeedbackSource = 'smtp' | 'mailgun' | 'postmark' | 'sendgrid';

export interface FeedbackEffect {
  /** The reader's new status, or 'unknown' when the report names nobody we know. */
  subscriber: 'bounced' | 'unsubscribed' | 'soft' | 'unknown';
  /** Whether the alert's figures moved (a repeat of the same report counts once). */
  counted: boolean;
  suppressed: boolean;
}

/** Told when a report suppressed a reader (the subscriber.bounced / subscriber.complained webhooks). */
export type FeedbackListener = (subscriberId: number, kind: 'bounced' | 'complained', ref?: MessageRef) => Promise<void>;

export class MailFeedback {
  /** Set by the process that owns the queues (runtime.ts); until then nobody is told. */
  private listener: FeedbackListener | undefined;

  constructor(
    private readonly d: {
      alerts: Alerts;
      subscribers: EmailSubscribers;
      suppressions: Suppressions;
      softBounces: SoftBounces;
      log: Logger;
    },
  ) {}

  onSuppressed(listener: FeedbackListener): void {
    this.listener = listener;
  }

  /** A report about one message we sent (its VERP token, or a Message-ID a provider quoted). */
  async onMessage(ref: MessageRef, kind: FeedbackKind, source: FeedbackSource): Promise<FeedbackEffect> {
    const counted = await this.d.alerts.countLate(ref, kind === 'hard' ? 'bounced' : kind === 'soft' ? 'soft' : 'complained');
    // A soft bounce counts toward the row once per message, however many reports repeat it.
    if (kind === 'soft' && counted === 'repeat') return { subscriber: 'soft', counted: false, suppressed: false };
    const effect = await this.onSubscriber(ref.subscriberId, kind, source, ref);
    return { ...effect, counted: counted === 'counted' };
  }

  /** A provider's event names an address; with no message to point at, only the reader changes. */
  async onAddress(email: string, kind: FeedbackKind, source: FeedbackSource, ref?: MessageRef): Promise<FeedbackEffect> {
    const id = await this.d.subscribers.idOf(email);
    if (id === null) {
      // Not a reader of ours (or erased): a complaint or hard bounce still keeps the address off our lists.
      if (kind !== 'soft') await this.d.suppressions.add(email, kind === 'hard' ? 'bounced' : 'complained', source);
      return { subscriber: 'unknown', counted: false, suppressed: kind !== 'soft' };
    }
    if (ref && ref.subscriberId === id) return this.onMessage(ref, kind, source);
    return this.onSubscriber(id, kind, source);
  }

  private async onSubscriber(id: number, kind: FeedbackKind, source: FeedbackSource, ref?: MessageRef): Promise<FeedbackEffect> {
    const { subscribers, suppressions, softBounces, log } = this.d;
    const sub = await subscribers.get(id);
    if (!sub) return { subscriber: 'unknown', counted: false, suppressed: false };
    if (kind === 'complaint') {
      await subscribers.unsubscribe(id);
      await softBounces.forget(id);
      await suppressions.add(sub.email, 'complained', source);
      log.info({ subscriber: id, source }, 'complaint: unsubscribed and suppressed');
      await this.listener?.(id, 'complained', ref);
      return { subscriber: 'unsubscribed', counted: false, suppressed: true };
    }
    if (kind === 'soft' && (await softBounces.bounced(id, await this.message(ref))) < SOFT_BOUNCE_LIMIT) {
      return { subscriber: 'soft', counted: false, suppressed: false };
    }
    await subscribers.markBounced(id);
    await softBounces.forget(id);
    await suppressions.add(sub.email, 'bounced', source);
    log.info({ subscriber: id, source, kind }, 'bounce: address suppressed');
    await this.listener?.(id, 'bounced', ref);
    return { subscriber: 'bounced', counted: false, suppressed: true };
  }

  /** The message a soft bounce is about, placed in send order by its revision's publication. */
  private async message(ref: MessageRef | undefined): Promise<SentMessage> {
    // A provider's event that names no message of ours stands for one sent just now.
    if (!ref) return { ref: `~${Date.now()}`, sentAt: Date.now() };
    const rev = await this.d.alerts.getRev(ref.alertId, ref.rev);
    return { ref: `${ref.alertId}:${ref.rev}`, sentAt: rev ? Date.parse(rev.createdAt) : Date.now() };
  }
}
