// Hop 4: one delivery batch, with no queue in sight. It reads which ids of its block are in its
// wave and not yet settled (sent, failed, expired or skipped for this revision), asks the channel
// to send to each, and records every outcome the moment it is known. A batch that runs again
// after a crash or a retry skips everyone already settled, so a recipient is sent to at most once,
// bar the requests that were on the wire when a worker died. Before each recipient it reads the
// alert's control hash: a cancel, or a newer revision, stops it before its next request.
// What to do with what is left (retry, pause for a 429, hand back) is decided by deliver.ts.
import type { Alerts } from '../store/alerts';
import type { DeliveryChannel, SendOutcome } from '../channels/channel';
import type { Progress } from '../store/progress';
import type { Logger } from '../log';
import { OutcomeWriter, type Tags } from './outcomes';
import { watchAuthRefusals } from './push-alarm';
import type { Alert, Channel } from '../model';

/** The part of a delivery job the batch needs: which block of which wave of which revision. */
export interface BatchSpec {
  alertId: string;
  rev: number;
  channel: Channel;
  start: number;
  size: number;
  wave: string;
  gen: number;
}

/** Counters the batch runner bumps (src/metrics.ts); called once per recipient, so kept cheap. */
export interface DeliveryMetrics {
  /** A recipient's outcome, newly recorded; `publishedAtMs` gives the publish-to-delivery time. */
  outcome(channel: Channel, outcome: 'sent' | 'failed' | 'expired', reason: string | undefined, publishedAtMs: number, tags?: Tags): void;
  retry(channel: Channel, reason: string): void;
}

export interface BatchDeps {
  alerts: Alerts;
  progress: Progress;
  channels: Record<Channel, DeliveryChannel>;
  log: Logger;
  /** Aborted on shutdown: start no new send, let those on the wire finish, hand the batch back. */
  stopping?: AbortSignal;
  metrics?: DeliveryMetrics;
  /**
   * A promise while this batch must start no new send (a flash batch has the channel in this
   * process, lanes.ts); each lane waits for it between two recipients.
   */
  paused?: (ch: Channel) => Promise<void> | undefined;
}

export interface Tally {
  sent: number;
  failed: number;
  expired: number;
  retry: number;
  skipped: number;
  stopped: boolean;
}

/** A transient refusal of one recipient, as the channel reported it. */
export interface RetryAsk {
  reason: string;
  retryAfterMs?: number;
  rateLimited?: boolean;
}

/**
 * How a run ended. `settled`: nobody of the block is left (or the alert was stopped; whoever is
 * left waits for a resume). `pending`: some recipients are still to be sent, for the reasons in
 * `retries`; `shuttingDown` says the worker is stopping and every answer is on record.
 */
export type BatchResult =
  | { kind: 'missing' }
  | { kind: 'settled'; tally: Tally }
  | { kind: 'pending'; tally: Tally; pending: number[]; retries: RetryAsk[]; shuttingDown: boolean; publishedAtMs: number };

export async function runBatch(d: BatchDeps, spec: BatchSpec): Promise<BatchResult> {
  const { alertId, rev, channel, start, size, gen } = spec;
  // Lanes share one read of the control hash, issued after all of them asked (sameTurn): none can
  // act on a state older than its own question. At thousands of pushes a second this saves most
  // of a Redis command per push.
  const mayContinue = sameTurn(() => d.progress.mayContinue(alertId, rev, gen));
  const fromByte = start / 8;
  const toByte = fromByte + size / 8 - 1;
  // One round trip for everything a batch needs before its first send.
  const [alert, may, aud, settled] = await Promise.all([
    d.alerts.getRev(alertId, rev),
    mayContinue(),
    d.progress.waveRange(alertId, rev, channel, spec.wave, fromByte, toByte),
    d.progress.settled(alertId, rev, channel, fromByte, toByte),
  ]);
  if (!alert) return { kind: 'missing' };
  const tally: Tally = { sent: 0, failed: 0, expired: 0, retry: 0, skipped: 0, stopped: !may };
  if (!may) return { kind: 'settled', tally };
  const ch = d.channels[channel];
  const ids = idsToSend(aud, settled, start);
  const sends = await ch.prepare(alert, ids);
  // Who left between the snapshot and now is settled as skipped, so the figures add up.
  await d.progress.recordMany(
    alertId,
    rev,
    channel,
    'skipped',
    ids.filter((id) => !sends.has(id)),
  );
  tally.skipped = ids.length - sends.size;
  const retries = await sendAll(d, spec, alert, ch, sends, tally, mayContinue);
  // Cancelled or superseded: whoever is left stays unsettled, for a resume to reach.
  if (tally.stopped) return { kind: 'settled', tally };
  const pending = idsToSend(aud, await d.progress.settled(alertId, rev, channel, fromByte, toByte), start).filter((id) => sends.has(id));
  if (pending.length === 0) return { kind: 'settled', tally };
  return {
    kind: 'pending',
    tally,
    pending,
    retries,
    shuttingDown: d.stopping?.aborted === true,
    publishedAtMs: Date.parse(alert.createdAt),
  };
}

/** Records `ids` as failed for `reason` (a batch out of attempts), counted once each. */
export async function recordGaveUp(
  d: BatchDeps,
  spec: BatchSpec,
  publishedAtMs: number,
  ids: readonly number[],
  reason: string,
): Promise<void> {
  const gaveUp = outcomeWriter(d, spec, publishedAtMs);
  for (const id of ids) gaveUp.add('failed', id, reason);
  await gaveUp.close();
}

async function sendAll(
  d: BatchDeps,
  spec: BatchSpec,
  alert: Alert,
  ch: DeliveryChannel,
  sends: Map<number, () => Promise<SendOutcome>>,
  tally: Tally,
  mayContinue: () => Promise<boolean>,
): Promise<RetryAsk[]> {
  const retries: RetryAsk[] = [];
  const reasons = new Map<string, number>();
  // Lanes do not wait for Redis: answers are recorded in small groups (see outcomes.ts), all
  // written before the batch ends. Metrics count only newly recorded outcomes, so a batch that
  // runs twice never counts anyone twice.
  const outcomes = outcomeWriter(d, spec, Date.parse(alert.createdAt));
  const forgets: Promise<void>[] = [];
  /** "<group> <refusal>" seen in this batch: an auth refusal among them is checked per alert. */
  const refused = new Set<string>();
  let slowDown = false;
  await runPool(
    [...sends],
    ch.concurrency,
    () => slowDown || tally.stopped || d.stopping?.aborted === true,
    async ([id, send], i) => {
      const paused = d.paused?.(spec.channel);
      if (paused) {
        await paused;
        // Shutting down, stopped or rate limited meanwhile: this recipient stays unsettled.
        if (slowDown || tally.stopped || d.stopping?.aborted === true) return;
      }
      // The kill switch: read before every request, so a cancel stops this lane here. A lane's
      // first request relies on the read made as the batch started, milliseconds ago (unless it
      // was paused since): a cancel since then waits for this active batch to finish
      // (control.ts), and the first push of an alert does not wait for one more round trip.
      if ((i >= ch.concurrency || paused) && !(await mayContinue())) {
        tally.stopped = true;
        return;
      }
      let outcome: SendOutcome;
      try {
        outcome = await send();
      } catch (err) {
        outcome = { kind: 'retry', reason: (err as Error).message };
      }
      if (outcome.kind === 'retry') {
        retries.push(outcome);
        tally.retry++;
        d.metrics?.retry(spec.channel, outcome.reason);
        // Asking the same service again right after a 429 only earns more 429s.
        if (outcome.rateLimited) slowDown = true;
        return;
      }
      tally[outcome.kind]++;
      // The outcome carries its tags (group, detail, quarantined): no object of its own per recipient.
      outcomes.add(outcome.kind, id, outcome.kind === 'failed' ? outcome.reason : undefined, outcome);
      if (outcome.detail && outcome.group) refused.add(`${outcome.group} ${outcome.detail}`);
      if (outcome.kind === 'expired' && ch.forget) forgets.push(handled(ch.forget(alert, id)));
      if (outcome.kind === 'failed') reasons.set(outcome.reason, (reasons.get(outcome.reason) ?? 0) + 1);
    },
  );
  await Promise.all([outcomes.close(), ...forgets]);
  await watchAuthRefusals(d, spec, refused);
  if (reasons.size > 0) {
    // One line per batch, not one per recipient: a VAPID mistake must not flood the logs.
    d.log.error(
      { alertId: spec.alertId, channel: spec.channel, batch: spec.start, failures: Object.fromEntries(reasons) },
      'delivery failures in batch',
    );
  }
  return retries;
}

function outcomeWriter(d: BatchDeps, spec: BatchSpec, publishedAtMs: number): OutcomeWriter<'sent' | 'failed' | 'expired'> {
  const { alertId, rev, channel } = spec;
  return new OutcomeWriter<'sent' | 'failed' | 'expired'>(
    (kind, list, reason, tags) => d.progress.recordMany(alertId, rev, channel, kind, list, { ...tags, ...(reason ? { reason } : {}) }),
    (kind, reason, fresh, tags) => {
      for (let i = 0; i < fresh; i++) d.metrics?.outcome(channel, kind, reason, publishedAtMs, tags);
    },
  );
}

/** Ids whose audience bit is set and whose settled bit is not. Bit 0 is the high bit of byte 0. */
export function idsToSend(aud: Buffer, settled: Buffer, start: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < aud.length; i++) {
    const byte = aud[i] & ~(settled[i] ?? 0);
    if (byte === 0) continue;
    for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) ids.push(start + i * 8 + b);
  }
  return ids;
}

/**
 * Calls made before fn's next call is issued share it, and one call at most is on its way: the
 * next one is issued once the previous one has answered, at the check phase of that turn of the
 * event loop (after its I/O), so every lane that asked meanwhile shares it. A caller never gets an
 * answer fetched before it asked; under load a batch makes one read per round trip to Redis
 * rather than one per turn of the loop.
 */
function sameTurn<T>(fn: () => Promise<T>): () => Promise<T> {
  let next: Promise<T> | undefined;
  let onItsWay: Promise<unknown> = Promise.resolve();
  const checkPhase = () => new Promise<void>((resolve) => setImmediate(resolve));
  return () => {
    next ??= onItsWay.then(checkPhase).then(() => {
      next = undefined;
      const read = fn();
      onItsWay = read.catch(() => undefined);
      return read;
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
    while (next < items.length && !stop()) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < Math.min(limit, items.length); i++) {
    if (i > 0) await new Promise<void>((r) => setImmediate(r));
    lanes.push(handled(lane()));
  }
  await Promise.all(lanes);
}
