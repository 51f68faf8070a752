// The contract between the delivery batch and a channel. It lives with the channels, so the
// pipeline imports it going down the layers and a channel never imports the pipeline.
import type { Alert, Channel } from '../model';

/**
 * Where a settled outcome is also counted: `group` (push: the push service) and `detail` (the
 * refusal, "403 BadJwtToken"). Both come from closed sets: they become Redis fields and labels.
 */
export interface OutcomeTags {
  group?: string;
  detail?: string;
  /** This refusal put the subscriber in quarantine (counted per service, like the refusal). */
  quarantined?: boolean;
}

export type SendOutcome =
  | ({ kind: 'sent' } & OutcomeTags)
  | ({ kind: 'failed'; reason: string } & OutcomeTags)
  | ({ kind: 'expired' } & OutcomeTags)
  /** rateLimited: the service said "too many requests"; the whole queue slows down, not just this batch. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; rateLimited?: boolean };

/** What a channel must do for the batch runner. Each channel is one file in src/channels/. */
export interface DeliveryChannel {
  readonly name: Channel;
  /** How many sends of one batch may be in flight at once. */
  readonly concurrency: number;
  /**
   * The ids this channel reaches on its own for this alert instead of the subscribers — the
   * internal test list for a test alert — or null when the alert goes to subscribers. Such a list
   * is the newsroom's, so readers' quiet hours do not apply to it.
   */
  ownRecipients(alert: Alert): readonly number[] | null;
  /** Loads this batch's recipients; returns one send function per recipient still subscribed. */
  prepare(alert: Alert, ids: readonly number[]): Promise<Map<number, () => Promise<SendOutcome>>>;
  /** Called once per recipient the push service says no longer exists. */
  forget?(alert: Alert, id: number): Promise<void>;
  close(): Promise<void>;
}
