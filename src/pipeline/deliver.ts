// The delivery job: its contract with BullMQ. runBatch (batch.ts) sends; `decide` maps what it
// reports to what BullMQ should do with the job — complete it, hand it back on shutdown, pause
// the queue for a 429, retry it with backoff, or give up on who is left — so that the queue's
// attempt arithmetic lives in one small pure function with its own tests.
import { RateLimitError, WaitingError, type BackoffStrategy, type Job, type JobsOptions, type Queue } from 'bullmq';
import { PermanentDeliveryError, TransientBatchError } from '../errors';
import { recordGaveUp, runBatch, type BatchDeps, type BatchResult, type BatchSpec } from './batch';
import type { Channel, Lane } from '../model';

export type { DeliveryMetrics } from './batch';

// --- the job's contract: what the fan-out enqueues ---------------------------------------------

export const DELIVERY_QUEUES = { push: 'push', email: 'email' } as const satisfies Record<Channel, string>;
/** The flash lane's queues (lanes.ts): served by workers of their own in every process. */
export const FLASH_QUEUES = { push: 'push-flash', email: 'email-flash' } as const satisfies Record<Channel, string>;
/** A delivery batch: the subscribers with ids in [start, start + size) that are in the wave's bitmap. */
export type DeliveryJob = BatchSpec;
const keep = { removeOnComplete: { age: 3600, count: 5000 }, removeOnFail: { age: 7 * 24 * 3600 } };
export const DELIVERY_JOB_OPTIONS: Record<Channel, JobsOptions> = {
  // 'capped': see pushBackoff; the delays come from the configuration of the worker.
  push: { attempts: 8, backoff: { type: 'capped' }, ...keep },
  email: { attempts: 8, backoff: { type: 'exponential', delay: 2000, jitter: 0.5 }, ...keep },
};
/** Job ids are deterministic, so re-enqueueing the same batch is a no-op; BullMQ forbids ":". */
export const deliveryJobId = (j: Pick<DeliveryJob, 'alertId' | 'rev' | 'channel' | 'wave' | 'start'>) =>
  `d-${j.alertId}-${j.rev}-${j.channel}-${j.wave}-${j.start}`;

/** Every delivery queue, by channel and lane (queues.ts opens them). */
export type DeliveryQueues = Record<'push' | 'email' | 'pushFlash' | 'emailFlash', Queue<DeliveryJob>>;

/** The queue a channel's batches of one lane go to. */
export function deliveryQueue(q: DeliveryQueues, ch: Channel, lane: Lane): Queue<DeliveryJob> {
  if (lane === 'flash') return ch === 'push' ? q.pushFlash : q.emailFlash;
  return ch === 'push' ? q.push : q.email;
}

/** `priorities[i]`: the BullMQ priority of jobs[i] (the normal lane's turn-taking, lanes.ts); none: FIFO. */
export async function enqueueDeliveries(
  queue: Queue<DeliveryJob>,
  jobs: readonly DeliveryJob[],
  priorities?: readonly number[],
): Promise<void> {
  await queue.addBulk(
    jobs.map((data, i) => ({
      name: 'deliver',
      data,
      opts: { jobId: deliveryJobId(data), ...(priorities ? { priority: priorities[i] } : {}) },
    })),
  );
}

/**
 * Backoff of push batches: the base delay doubled per attempt, capped at maxMs, jittered down
 * to half (so batches that failed together do not come back together), and never sooner than a
 * 503's Retry-After.
 */
export function pushBackoff(baseMs: number, maxMs: number, random = Math.random): BackoffStrategy {
  return (attemptsMade, _type, err) => {
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const delay = Math.round(ceiling * (0.5 + random() * 0.5));
    const asked = err instanceof TransientBatchError ? (err.retryAfterMs ?? 0) : 0;
    return Math.max(delay, asked);
  };
}

// --- what BullMQ does with a batch's result --------------------------------------------------

export interface DeliverDeps extends BatchDeps {
  /** Pauses every worker of a channel's queue for `ms` (BullMQ's queue rate limit). */
  rateLimit?: (ch: Channel, ms: number) => Promise<void>;
  /** Told once, by the batch that finished the revision (alert.delivered). */
  onDelivered?: (alertId: string, rev: number) => Promise<void>;
}

/** Pause when a 429 comes without Retry-After. */
const DEFAULT_RATE_LIMIT_MS = 5000;
/** A batch may be sent back to the queue by rate limits this many times before 429s count as attempts. */
export const MAX_RATE_LIMITED_ROUNDS = 50;

/** Where the job stands in BullMQ's counting: attempts made (failed), started, and allowed. */
export interface Attempts {
  made: number;
  started: number;
  allowed: number;
}

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
    const action = decide(
      result,
      { made: job.attemptsMade, started: job.attemptsStarted, allowed: job.opts.attempts ?? 1 },
      { handBack: token !== undefined, pauseQueue: d.rateLimit !== undefined },
    );
    switch (action.do) {
      case 'fail':
        throw new PermanentDeliveryError(`alert ${alertId} revision ${rev}: ${action.message}`);
      case 'hand-back':
        d.log.info(
          { alertId, channel, batch: start, left: result.kind === 'pending' ? result.pending.length : 0 },
          'shutdown: batch handed back',
        );
        await job.moveToWait(token);
        throw new WaitingError();
      case 'pause-queue':
        await d.rateLimit!(channel, action.ms);
        d.log.warn(
          { alertId, channel, batch: start, pending: result.kind === 'pending' ? result.pending.length : 0, waitMs: action.ms },
          'push service rate limit: queue paused',
        );
        throw new RateLimitError();
      case 'retry':
        throw new TransientBatchError(action.pending, action.reason, action.retryAfterMs);
      case 'give-up':
        await recordGaveUp(d, spec, action.publishedAtMs, action.pending, action.reason);
        d.log.error(
          { alertId, channel, batch: start, failed: action.pending.length, reason: action.reason },
          'batch gave up after retries',
        );
        break;
      case 'complete':
        break;
    }
    if ((await d.progress.batchDone(alertId, rev, batch)) && d.onDelivered) await d.onDelivered(alertId, rev);
    return result.kind === 'missing' ? {} : { ...result.tally };
  };
}
