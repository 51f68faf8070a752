// Queue names and job options, shared by the API (which enqueues) and the workers.
import { Queue, type BackoffStrategy, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Channel } from '../store/keys';
import { TransientBatchError } from '../errors';

export const QUEUE = { fanout: 'fanout', push: 'push', email: 'email', mail: 'mail' } as const;

/** One wave of a revision's fan-out (see src/waves.ts); `gen` changes when the alert is resumed. */
export interface FanoutJob { alertId: string; rev: number; wave: string; gen: number }
/** A delivery batch: the subscribers with ids in [start, start + size) that are in the wave's bitmap. */
export interface DeliveryJob { alertId: string; rev: number; channel: Channel; start: number; size: number; wave: string; gen: number }
/** Transactional mail (confirmation links): only ids travel, the address stays in Redis. */
export interface MailJob { kind: 'confirm'; subscriberId: number }

const keep = { removeOnComplete: { age: 3600, count: 5000 }, removeOnFail: { age: 7 * 24 * 3600 } };

export const JOB_OPTIONS: Record<keyof typeof QUEUE, JobsOptions> = {
  fanout: { attempts: 10, backoff: { type: 'exponential', delay: 200, jitter: 0.5 }, ...keep },
  // 'capped': see pushBackoff; the delays come from the configuration of the worker.
  push: { attempts: 8, backoff: { type: 'capped' }, ...keep },
  email: { attempts: 8, backoff: { type: 'exponential', delay: 2000, jitter: 0.5 }, ...keep },
  mail: { attempts: 8, backoff: { type: 'exponential', delay: 2000, jitter: 0.5 }, ...keep },
};

export interface Queues {
  fanout: Queue<FanoutJob>;
  push: Queue<DeliveryJob>;
  email: Queue<DeliveryJob>;
  mail: Queue<MailJob>;
  close(): Promise<void>;
}

export function createQueues(connection: ConnectionOptions, prefix: string): Queues {
  const q = {
    fanout: new Queue<FanoutJob>(QUEUE.fanout, { connection, prefix, defaultJobOptions: JOB_OPTIONS.fanout }),
    push: new Queue<DeliveryJob>(QUEUE.push, { connection, prefix, defaultJobOptions: JOB_OPTIONS.push }),
    email: new Queue<DeliveryJob>(QUEUE.email, { connection, prefix, defaultJobOptions: JOB_OPTIONS.email }),
    mail: new Queue<MailJob>(QUEUE.mail, { connection, prefix, defaultJobOptions: JOB_OPTIONS.mail }),
  };
  return { ...q, close: async () => { await Promise.all(Object.values(q).map((x) => x.close())); } };
}

/** Job ids are deterministic, so re-enqueueing the same batch is a no-op; BullMQ forbids ":". */
export const fanoutJobId = (alertId: string, rev: number, wave: string) => `f-${alertId}-${rev}-${wave}`;
export const deliveryJobId = (j: Pick<DeliveryJob, 'alertId' | 'rev' | 'channel' | 'wave' | 'start'>) => `d-${j.alertId}-${j.rev}-${j.channel}-${j.wave}-${j.start}`;

/**
 * Backoff of push batches: the base delay doubled per attempt, capped at maxMs, jittered down
 * to half (so batches that failed together do not come back together), and never sooner than a
 * 503's Retry-After.
 */
export function pushBackoff(baseMs: number, maxMs: number, random = Math.random): BackoffStrategy {
  return (attemptsMade, _type, err) => {
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const delay = Math.round(ceiling * (0.5 + random() * 0.5));
    const asked = err instanceof TransientBatchError ? err.retryAfterMs ?? 0 : 0;
    return Math.max(delay, asked);
  };
}
