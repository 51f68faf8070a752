// Transactional mail: the confirmation link. It is the only message that may go to an address
// that has not confirmed, and it goes through a queue so SMTP trouble delays it instead of losing it.
import type { Job, JobsOptions, Queue } from 'bullmq';
import type { EmailSubscribers } from '../store/email-subscribers';
import type { Suppressions } from '../store/suppressions';
import type { Renderer } from '../email/render';
import type { MailTransport } from '../email/transport';
import { asciiAddress } from '../email/address';
import type { TokenSigner } from '../tokens';
import { classifySmtpError } from '../channels/email';
import { PermanentDeliveryError } from '../errors';

export const MAIL_QUEUE = 'mail';
/** Transactional mail (confirmation links): only ids travel, the address stays in Redis. */
export interface MailJob {
  kind: 'confirm';
  subscriberId: number;
}
export const MAIL_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Queues a confirmation mail; another request within `resendSeconds` adds nothing (one mail). */
export async function enqueueConfirmation(queue: Queue<MailJob>, subscriberId: number, resendSeconds: number): Promise<void> {
  await queue.add(
    'confirm',
    { kind: 'confirm', subscriberId },
    { deduplication: { id: `confirm-${subscriberId}`, ttl: resendSeconds * 1000 } },
  );
}

export interface MailDeps {
  subscribers: EmailSubscribers;
  suppressions: Suppressions;
  renderer: Renderer;
  transport: MailTransport;
  tokens: TokenSigner;
  baseUrl: string;
  confirmTtlSeconds: number;
  messageIdDomain: string;
  /** Told after the confirmation mail hard-bounced (the subscriber.bounced webhook). */
  onBounced?: (subscriberId: number) => Promise<void>;
}

export function mailProcessor(d: MailDeps) {
  return async (job: Job<MailJob>): Promise<string> => {
    const sub = await d.subscribers.get(job.data.subscriberId);
    // Pending, or unsubscribed and asking to come back; never to a confirmed or a bounced address.
    if (!sub || (sub.status !== 'pending' && sub.status !== 'unsubscribed')) return 'skipped';
    // A complaint or an editor's entry bars even the confirmation mail until an editor lifts it.
    const barred = await d.suppressions.get(sub.email);
    if (barred && barred.reason !== 'bounced') return 'suppressed';
    // The link's lifetime starts when the mail leaves, not when it was asked for; it carries the
    // status version read now, so any change of status before the click voids it.
    const token = d.tokens.sign('confirm', sub.id, d.confirmTtlSeconds, sub.statusVersion);
    const expires = new Date(Date.now() + d.confirmTtlSeconds * 1000);
    // In the language the reader subscribed in.
    const mail = d.renderer.in(sub.lang).confirmEmail(`${d.baseUrl}/api/subscriptions/email/confirm?token=${token}`, expires);
    let outcome: ReturnType<typeof classifySmtpError>;
    try {
      await d.transport.send({
        to: asciiAddress(sub.email),
        ...mail,
        messageId: `<confirm.${sub.id}.${job.id ?? '0'}@${d.messageIdDomain}>`,
      });
      return 'sent';
    } catch (err) {
      outcome = classifySmtpError(err);
    }
    if (outcome.kind === 'expired') {
      await d.subscribers.markBounced(sub.id);
      if (d.onBounced) await d.onBounced(sub.id);
      return 'bounced';
    }
    if (outcome.kind === 'failed') throw new PermanentDeliveryError(outcome.reason);
    // Only the short reason goes into the job, and deliberately no `cause`: a server's reply text
    // may quote the address, so the SMTP error is classified and dropped here.
    throw new Error(outcome.kind === 'retry' ? outcome.reason : 'smtp error');
  };
}
