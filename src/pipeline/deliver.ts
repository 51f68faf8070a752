// Hop 4: one delivery batch. It reads which ids of its block are in its wave and not yet
// settled (sent, failed, expired or skipped for this revision), asks the channel to send to
// each, and records every outcome the moment it is known. A batch that runs again after a crash
// or a retry skips everyone already settled, so a recipient is sent to at most once, bar the
// requests that were on the wire when a worker died. Before each recipient it reads the alert's
// control hash: a cancel, or a newer revision, stops it before its next request.
import { RateLimitError, WaitingError, type Job } from 'bullmq';
import type { Alerts } from '../store/alerts';
import type { DeliveryChannel, SendOutcome } from '../channels/channel';
import type { Progress } from '../store/progress';
import type { Channel } from '../store/keys';
import type { DeliveryJob } from './queues';
import { PermanentDeliveryError, TransientBatchError } from '../errors';
import type { Logger } from '../log';
import { OutcomeWriter } from './outcomes';

/** Counters the batch runner bumps (src/metrics.ts); called once per recipient, so kept cheap. */
export interface DeliveryMetrics {
  /** A recipient's outcome, newly recorded; `publishedAtMs` gives the publish-to-delivery time. */
  outcome(channel: Channel, outcome: 'sent' | 'failed' | 'expired', reason: string | undefined, publishedAtMs: number): void;
  retry(channel: Channel, reason: string): void;
}

export interface DeliverDeps {
  alerts: Alerts;
  progress: Progress;
  channels: Record<Channel, DeliveryChannel>;
  log: Logger;
  /** Pauses every worker of a channel's queue for `ms` (BullMQ's queue rate limit). */
  rateLimit?: (ch: Channel, ms: number) => Promise<void>;
  /** Aborted on shutdown: start no new send, let those on the wire finish, hand the batch back. */
  stopping?: AbortSignal;
  metrics?: DeliveryMetrics;
}

/** Pause when a 429 comes without Retry-After. */
const DEFAULT_RATE_LIMIT_MS = 5000;
/** A batch may be sent back to the queue by rate limits this many times before 429s count as attempts. */
const MAX_RATE_LIMITED_ROUNDS = 50;

export function deliverProcessor(d: DeliverDeps) {
  return async (job: Job<DeliveryJob>, token?: string): Promise<Record<string, number | boolean>> => {
    const { alertId, rev, channel, start, size, wave, gen } = job.data;
    const batch = { ch: channel, wave, start };
    // Lanes answered in the same turn of the event loop share one read of the control hash,
    // issued after all of them asked: none can act on a state older than its own question. At
    // thousands of pushes a second this saves most of a Redis command per push.
    const mayContinue = sameTurn(() => d.progress.mayContinue(alertId, rev, gen));
    const fromByte = start / 8;
    const toByte = fromByte + size / 8 - 1;
    // One round trip for everything a batch needs before its first send.
    const [alert, may, aud, settled] = await Promise.all([
      d.alerts.getRev(alertId, rev),
      mayContinue(),
      d.progress.waveRange(alertId, rev, channel, wave, fromByte, toByte),
      d.progress.settled(alertId, rev, channel, fromByte, toByte),
    ]);
    if (!alert) throw new PermanentDeliveryError(`alert ${alertId} revision ${rev} does not exist`);
    if (!may) {
      await d.progress.batchDone(alertId, rev, batch);
      return { stopped: true };
    }
    const ch = d.channels[channel];
    const ids = idsToSend(aud, settled, start);
    const sends = await ch.prepare(alert, ids);
    // Who left between the snapshot and now is settled as skipped, so the figures add up.
    await d.progress.recordMany(alertId, rev, channel, 'skipped', ids.filter((id) => !sends.has(id)));
    const tally = { sent: 0, failed: 0, expired: 0, retry: 0, skipped: ids.length - sends.size, stopped: false };
    const retry: { reason: string; retryAfterMs?: number; rateLimited?: boolean }[] = [];
    const reasons = new Map<string, number>();
    // Lanes do not wait for Redis: answers are recorded in small groups (see outcomes.ts), all
    // written before the batch ends. Metrics count only newly recorded outcomes, so a batch that
    // runs twice never counts anyone twice.
    const publishedAt = Date.parse(alert.createdAt);
    const newWriter = () => new OutcomeWriter<'sent' | 'failed' | 'expired'>(
      (kind, list) => d.progress.recordMany(alertId, rev, channel, kind, list),
      (kind, reason, fresh) => { for (let i = 0; i < fresh; i++) d.metrics?.outcome(channel, kind, reason, publishedAt); },
    );
    const outcomes = newWriter();
    const forgets: Promise<void>[] = [];
    let slowDown = false;

    await runPool([...sends], ch.concurrency, () => slowDown || tally.stopped || d.stopping?.aborted === true, async ([id, send], i) => {
      // The kill switch: read before every request, so a cancel stops this lane here. A lane's
      // first request relies on the read made as the batch started, milliseconds ago: a cancel
      // since then waits for this active batch to finish (control.ts), and the first push of an
      // alert does not wait for one more round trip.
      if (i >= ch.concurrency && !(await mayContinue())) { tally.stopped = true; return; }
      let outcome: SendOutcome;
      try { outcome = await send(); } catch (err) { outcome = { kind: 'retry', reason: (err as Error).message }; }
      if (outcome.kind === 'retry') {
        retry.push(outcome);
        tally.retry++;
        d.metrics?.retry(channel, outcome.reason);
        // Asking the same service again right after a 429 only earns more 429s.
        if (outcome.rateLimited) slowDown = true;
        return;
      }
      tally[outcome.kind]++;
      outcomes.add(outcome.kind, id, outcome.kind === 'failed' ? outcome.reason : undefined);
      // A test's email ids are positions in TEST_RECIPIENTS, not subscribers: nobody to suppress.
      if (outcome.kind === 'expired' && ch.forget && !(alert.kind === 'test' && channel === 'email')) forgets.push(handled(ch.forget(id)));
      if (outcome.kind === 'failed') reasons.set(outcome.reason, (reasons.get(outcome.reason) ?? 0) + 1);
    });
    await Promise.all([outcomes.close(), ...forgets]);
    if (reasons.size > 0) {
      // One line per batch, not one per recipient: a VAPID mistake must not flood the logs.
      d.log.error({ alertId, channel, batch: start, failures: Object.fromEntries(reasons) }, 'delivery failures in batch');
    }
    if (tally.stopped) {
      // Cancelled or superseded: whoever is left stays unsettled, for a resume to reach.
      await d.progress.batchDone(alertId, rev, batch);
      return tally;
    }
    const pending = idsToSend(aud, await d.progress.settled(alertId, rev, channel, fromByte, toByte), start).filter((id) => sends.has(id));
    if (pending.length > 0 && d.stopping?.aborted && token) {
      // Shutting down: every answer we got is recorded, so the batch goes back to the queue
      // now and another worker resumes it without sending anyone twice.
      d.log.info({ alertId, channel, batch: start, left: pending.length }, 'shutdown: batch handed back');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (pending.length > 0) {
      const limited = retry.filter((r) => r.rateLimited);
      const rounds = job.attemptsStarted - job.attemptsMade;
      if (limited.length > 0 && d.rateLimit && rounds <= MAX_RATE_LIMITED_ROUNDS) {
        // 429: pause the whole queue for as long as the service asked, then run this batch again
        // (skipping everyone already settled). This does not use up one of the batch's attempts.
        const waitMs = Math.max(...limited.map((r) => r.retryAfterMs ?? DEFAULT_RATE_LIMIT_MS));
        await d.rateLimit(channel, waitMs);
        d.log.warn({ alertId, channel, batch: start, pending: pending.length, waitMs }, 'push service rate limit: queue paused');
        throw new RateLimitError();
      }
      const attempts = job.opts.attempts ?? 1;
      const reason = retry[0]?.reason ?? 'not sent';
      if (job.attemptsMade + 1 < attempts) {
        const retryAfterMs = Math.max(0, ...retry.map((r) => r.retryAfterMs ?? 0));
        throw new TransientBatchError(pending.length, reason, retryAfterMs || undefined);
      }
      // Out of attempts: what is still pending is a failure, counted once.
      const gaveUp = newWriter();
      for (const id of pending) gaveUp.add('failed', id, reason);
      await gaveUp.close();
      d.log.error({ alertId, channel, batch: start, failed: pending.length, reason }, 'batch gave up after retries');
    }
    await d.progress.batchDone(alertId, rev, batch);
    return tally;
  };
}

/** Ids whose audience bit is set and whose settled bit is not. Bit 0 is the high bit of byte 0. */
export function idsToSend(aud: Buffer, settled: Buffer, start: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < aud.length; i++) {
    const byte = aud[i]! & ~(settled[i] ?? 0);
    if (byte === 0) continue;
    for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) ids.push(start + i * 8 + b);
  }
  return ids;
}

/**
 * Calls made before fn's next call is issued share it; fn is called once per turn of the event
 * loop at most (at its check phase, after the I/O of that turn), after every call it answers. A
 * caller never gets an answer fetched before it asked.
 */
function sameTurn<T>(fn: () => Promise<T>): () => Promise<T> {
  let next: Promise<T> | undefined;
  return () => {
    next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      next = undefined;
      return fn();
    });
    return next;
  };
}

/** The same promise, marked as handled: it is awaited later, and must not crash the process first. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/**
 * Runs fn over items with at most `limit` at once; stops taking new items once stop() is true.
 * Lanes start one event-loop turn apart: started all at once, a hundred lanes would each do their
 * CPU work (encryption) before the first request left, delaying the first push by ~15 ms.
 */
async function runPool<T>(items: T[], limit: number, stop: () => boolean, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !stop()) { const i = next++; await fn(items[i]!, i); }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, items.length); i++) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    lanes.push(handled(lane()));
  }
  await Promise.all(lanes);
}
