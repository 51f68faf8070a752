// The delivery job: its contract with BullMQ. runBatch (batch.ts) sends; `decide` maps what it
// reports to what BullMQ should do with the job — complete it, hand it back on shutdown, pause
// the queue for a 429, retry it with backoff, or give up on who is left — so that the queue's
// attempt arithmetic lives in one small pure function with its own tests.
import { RateLimitError, WaitingError, type Job } from 'bullmq';
import type { Channel } from '../store/keys';
import type { DeliveryJob } from './queues';
import { PermanentDeliveryError, TransientBatchError } from '../errors';
import { recordGaveUp, runBatch, type BatchDeps, type BatchResult } from './batch';

export type { DeliveryMetrics } from './batch';

export interface DeliverDeps extends BatchDeps {
  /** Pauses every worker of a channel's queue for `ms` (BullMQ's queue rate limit). */
  rateLimit?: (ch: Channel, ms: number) => Promise<void>;
}

/** Pause when a 429 comes without Retry-After. */
const DEFAULT_RATE_LIMIT_MS = 5000;
/** A batch may be sent back to the queue by rate limits this many times before 429s count as attempts. */
export const MAX_RATE_LIMITED_ROUNDS = 50;

/** Where the job stands in BullMQ's counting: attempts made (failed), started, and allowed. */
export interface Attempts { made: number; started: number; allowed: number }

export type JobAction =
  | { do: 'complete' }
  | { do: 'fail'; message: string }
  | { do: 'hand-back' }
  | { do: 'pause-queue'; ms: number }
  | { do: 'retry'; pending: number; reason: string; retryAfterMs?: number }
  | { do: 'give-up'; pending: number[]; reason: string; publishedAtMs: number };

export function decide(result: BatchResult, attempts: Attempts, can: { handBack: boolean; pauseQueue: boolean }): JobAction {
  if (result.kind === 'missing') return { do: 'fail', message: 'the alert revision does not exist' };
  if (result.kind === 'settled') return { do: 'complete' };
  // Shutting down: every answer we got is recorded, so the batch goes back to the queue now and
  // another worker resumes it without sending anyone twice.
  if (result.shuttingDown && can.handBack) return { do: 'hand-back' };
  const limited = result.retries.filter((r) => r.rateLimited);
  // 429: pause the whole queue for as long as the service asked, then run this batch again
  // (skipping everyone already settled). This does not use up one of the batch's attempts.
  if (limited.length > 0 && can.pauseQueue && attempts.started - attempts.made <= MAX_RATE_LIMITED_ROUNDS) {
    return { do: 'pause-queue', ms: Math.max(...limited.map((r) => r.retryAfterMs ?? DEFAULT_RATE_LIMIT_MS)) };
  }
  const reason = result.retries[0]?.reason ?? 'not sent';
  if (attempts.made + 1 < attempts.allowed) {
    const retryAfterMs = Math.max(0, ...result.retries.map((r) => r.retryAfterMs ?? 0));
    return { do: 'retry', pending: result.pending.length, reason, ...(retryAfterMs > 0 ? { retryAfterMs } : {}) };
  }
  // Out of attempts: what is still pending is a failure, counted once.
  return { do: 'give-up', pending: result.pending, reason, publishedAtMs: result.publishedAtMs };
}

export function deliverProcessor(d: DeliverDeps) {
  return async (job: Job<DeliveryJob>, token?: string): Promise<Record<string, number | boolean>> => {
    const spec = job.data;
    const { alertId, rev, channel, start } = spec;
    const batch = { ch: channel, wave: spec.wave, start };
    const result = await runBatch(d, spec);
    const action = decide(result, { made: job.attemptsMade, started: job.attemptsStarted, allowed: job.opts.attempts ?? 1 }, { handBack: token !== undefined, pauseQueue: d.rateLimit !== undefined });
    switch (action.do) {
      case 'fail':
        throw new PermanentDeliveryError(`alert ${alertId} revision ${rev}: ${action.message}`);
      case 'hand-back':
        d.log.info({ alertId, channel, batch: start, left: result.kind === 'pending' ? result.pending.length : 0 }, 'shutdown: batch handed back');
        await job.moveToWait(token!);
        throw new WaitingError();
      case 'pause-queue':
        await d.rateLimit!(channel, action.ms);
        d.log.warn({ alertId, channel, batch: start, pending: result.kind === 'pending' ? result.pending.length : 0, waitMs: action.ms }, 'push service rate limit: queue paused');
        throw new RateLimitError();
      case 'retry':
        throw new TransientBatchError(action.pending, action.reason, action.retryAfterMs);
      case 'give-up':
        await recordGaveUp(d, spec, action.publishedAtMs, action.pending, action.reason);
        d.log.error({ alertId, channel, batch: start, failed: action.pending.length, reason: action.reason }, 'batch gave up after retries');
        break;
      case 'complete':
        break;
    }
    await d.progress.batchDone(alertId, rev, batch);
    return result.kind === 'missing' ? {} : { ...result.tally };
  };
}
