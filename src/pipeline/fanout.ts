// Hop 3: one fan-out wave. The first wave of a revision freezes its audience per channel (topics,
// the earlier recipients for a correction, the test list for a test); every wave then takes out
// who is settled and who is in quiet hours, books a later wave for when their window ends, and
// walks what is left, enqueueing one delivery job per block of ids that holds a recipient (in the
// flash lane, per few blocks: chunkBatches in lanes.ts). Jobs carry ids only. The cancel flag is
// read before each enqueue, so a cancel stops the walk too.
import { DelayedError, type Job, type JobsOptions, type Queue } from 'bullmq';
import type { Domain } from '../services';
import { deliveryQueue, enqueueDeliveries, type DeliveryJob, type DeliveryQueues } from './deliver';
import { batchPriority, chunkBatches, firstPriority } from './lanes';
import { PermanentDeliveryError } from '../errors';
import type { Progress } from '../store/progress';
import { andNot, bitmapOf, orInto, popcount } from '../bits';
import { overThreshold } from './approval';
import { revisionDelivered } from './events';
import type { WebhookJob } from './webhook';
import type { Found } from '../store/revision-state';
import { laneOf, type Alert, type Channel, type Lane } from '../model';
import type { DeliveryChannel } from '../channels/channel';

// --- the job's contract: what the API and the fan-out itself enqueue -------------------------

export const FANOUT_QUEUE = 'fanout';
/** One wave of a revision's fan-out; `gen` changes when the alert is resumed. */
export interface FanoutJob {
  alertId: string;
  rev: number;
  wave: string;
  gen: number;
}
export const FANOUT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 200, jitter: 0.5 },
  removeOnComplete: { age: 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
/** Job ids are deterministic, so queueing the same wave twice is a no-op; BullMQ forbids ":". */
export const fanoutJobId = (alertId: string, rev: number, wave: string) => `f-${alertId}-${rev}-${wave}`;

// A wave is one pass of the fan-out over a revision's audience. The first wave of a generation
// ("g0", or "g1" after a resume) starts at publish, at `publishAt`, or on approval; held waves
// ("g0h<ms>") start when a quiet window ends. Each wave sends only to who is still unsettled,
// so any number of waves reach each recipient at most once.
export interface WaveDeps {
  progress: Progress;
  queues: { fanout: Queue<FanoutJob> };
}

export const firstWave = (gen: number) => `g${gen}`;
/**
 * The first wave queued on approval. A first wave that found the audience over the threshold is
 * done already (its job kept as completed), so the approved run needs a name of its own.
 */
export const approvedWave = (gen: number) => `g${gen}a`;
export const heldWave = (gen: number, endMs: number) => `g${gen}h${endMs}`;
export const isHeldWave = (wave: string) => wave.includes('h');

/** Queues the first wave of a generation, delayed until `publishAt` when that is in the future. */
export async function queueFirstWave(d: WaveDeps, alert: Alert, gen: number, wave = firstWave(gen)): Promise<void> {
  const at = alert.publishAt ? Date.parse(alert.publishAt) : 0;
  const delay = at - Date.now();
  // The wave is registered first: a resumed revision whose earlier work is all done would
  // otherwise look delivered, and a delivered revision cannot be scheduled.
  await d.progress.waveQueued(alert.id, alert.rev, wave);
  if (delay > 0) await d.progress.revisions.schedule(alert.id, alert.rev, at);
  await d.queues.fanout.add(
    FANOUT_QUEUE,
    { alertId: alert.id, rev: alert.rev, wave, gen },
    { jobId: fanoutJobId(alert.id, alert.rev, wave), ...(delay > 0 ? { delay } : {}) },
  );
}

/** Queues a wave for the subscribers whose quiet window ends at `endMs`; once per end. */
export async function queueHeldWave(d: WaveDeps, alertId: string, rev: number, gen: number, endMs: number): Promise<void> {
  const wave = heldWave(gen, endMs);
  if (!(await d.progress.waveQueued(alertId, rev, wave, endMs))) return;
  // A second of slack: the wave must find the window over on the subscribers' clock.
  const delay = Math.max(0, endMs + 1000 - Date.now());
  await d.queues.fanout.add(FANOUT_QUEUE, { alertId, rev, wave, gen }, { jobId: fanoutJobId(alertId, rev, wave), delay });
}

// --- the processor ---------------------------------------------------------------------------

const CHUNK_BYTES = 64 * 1024; // 524,288 ids read per GETRANGE
const ENQUEUE_EVERY = 200;

export type FanoutDeps = Pick<
  Domain,
  'alerts' | 'progress' | 'audience' | 'topics' | 'quiet' | 'digests' | 'spacing' | 'log' | 'audit' | 'webhooks'
> & {
  queues: { fanout: Queue<FanoutJob>; webhook: Queue<WebhookJob> } & DeliveryQueues;
  batchSize: number;
  workflow: Domain['config']['workflow'];
  /** Each channel says whether it has its own recipients for an alert (the test list). */
  recipients: Record<Channel, Pick<DeliveryChannel, 'ownRecipients'>>;
  /** Pauses this process's normal lane of these channels until the function returned is called (lanes.ts). */
  holdLanes?: (channels: readonly Channel[]) => () => void;
};

export function fanoutProcessor(d: FanoutDeps) {
  return async (job: Job<FanoutJob>, token?: string): Promise<Record<string, unknown>> => {
    const { alertId, rev } = job.data;
    const alert = await d.alerts.getRev(alertId, rev);
    if (!alert) throw new PermanentDeliveryError(`alert ${alertId} revision ${rev} does not exist`);
    // A flash's fan-out is the start of its first push: in a process busy with a big send, each of
    // its round trips would wait behind the normal lane's work, so that lane pauses here too.
    const release = laneOf(alert) === 'flash' ? d.holdLanes?.(alert.channels) : undefined;
    try {
      return await runWave(d, job, alert, token);
    } finally {
      release?.();
    }
  };
}

async function runWave(d: FanoutDeps, job: Job<FanoutJob>, alert: Alert, token?: string): Promise<Record<string, unknown>> {
  const { alertId, rev, wave, gen } = job.data;
  // Only the jobs the workflow queued may send: one added by hand (bull-board, a script) is not.
  if (job.id !== fanoutJobId(alertId, rev, wave)) return refuse(d, job, 'unregistered');
  if (!(await d.progress.mayContinue(alertId, rev, gen))) {
    // Cancelled, or a newer revision superseded this one while it was held: drop the wave.
    await waveDone(d, alertId, rev, wave);
    return { stopped: true };
  }
  const started = await d.progress.revisions.start(alertId, rev, wave);
  if (!started.ok) return notStarted(d, job, started.found, token);
  await d.progress.waveStarted(alertId, rev, wave);
  if (!isHeldWave(wave) && (await deferredToApproval(d, alert, wave))) return { awaitingApproval: true };
  const slot = await spacingSlot(d, alert, wave);
  if (slot !== null && token) {
    await job.moveToDelayed(slot, token);
    throw new DelayedError();
  }
  // The delivery report's clock: the first wave that actually goes (held waves keep it).
  await d.progress.started(alertId, rev);
  const batches: Record<string, number> = {};
  for (const ch of alert.channels) {
    await freezeAudience(d, alert, ch);
    const quiet = subjectToQuietHours(d, alert, ch) ? await d.quiet.quietNow(ch, d.workflow.quietHours) : new Map<number, Buffer>();
    let mask: Buffer | undefined;
    for (const m of quiet.values()) mask = orInto(mask, m);
    const size = await d.progress.buildWave(alertId, rev, ch, wave, mask);
    for (const [end, m] of quiet) {
      if ((await d.progress.countWithin(alertId, rev, ch, m)) > 0) await queueHeldWave(d, alertId, rev, gen, end);
    }
    batches[ch] = size === 0 ? 0 : await enqueueBatches(d, job.data, ch, laneOf(alert));
  }
  await waveDone(d, alertId, rev, wave);
  return { batches };
}

/** A wave that may not run ends here without sending; the job completes with what it found. */
function refuse(d: FanoutDeps, job: Job<FanoutJob>, found: Found): Record<string, unknown> {
  d.log.warn(
    { jobId: job.id, alertId: job.data.alertId, rev: job.data.rev, wave: job.data.wave, found },
    'fan-out refused: the revision is not in a sendable state',
  );
  return { refused: found };
}

async function notStarted(d: FanoutDeps, job: Job<FanoutJob>, found: Found, token?: string): Promise<Record<string, unknown>> {
  const { alertId, rev, wave } = job.data;
  if (found === 'early' && token) {
    // Our own scheduled wave, promoted before its time: back to waiting until then.
    const { scheduledFor } = await d.progress.revisions.read(alertId, rev);
    d.log.warn(
      { jobId: job.id, alertId, rev, scheduledFor: new Date(scheduledFor).toISOString() },
      'fan-out started before its time: delayed again',
    );
    await job.moveToDelayed(scheduledFor, token);
    throw new DelayedError();
  }
  // Our own wave of a revision that may not send any more: it counts as done.
  if (found !== 'unregistered' && found !== 'early') await waveDone(d, alertId, rev, wave);
  return refuse(d, job, found);
}

/**
 * APPROVAL_THRESHOLD checked again as the first wave runs: an audience that grew past it since
 * publish (a scheduled alert, most likely) waits for a chief, and nothing is sent.
 */
async function deferredToApproval(d: FanoutDeps, alert: Alert, wave: string): Promise<boolean> {
  if ((await d.progress.revisions.read(alert.id, alert.rev)).approval?.by) return false;
  const size = await overThreshold(d, alert, d.workflow.approvalThreshold);
  if (size === null) return false;
  const moved = await d.progress.revisions.awaitApproval(alert.id, alert.rev, size);
  await waveDone(d, alert.id, alert.rev, wave);
  if (!moved.ok) return true; // cancelled or superseded meanwhile: nothing to send either
  d.log.info({ alertId: alert.id, rev: alert.rev, audience: size }, 'audience grew past APPROVAL_THRESHOLD: awaiting approval');
  await d.audit.record({
    action: 'await_approval',
    editor: 'system',
    role: 'system',
    alertId: alert.id,
    rev: alert.rev,
    details: { audience: size, threshold: d.workflow.approvalThreshold },
  });
  return true;
}

/** A flash ignores quiet hours; so does a channel's own list (the newsroom's, not readers'). */
const subjectToQuietHours = (d: FanoutDeps, a: Alert, ch: Channel) => !a.flash && d.recipients[ch].ownRecipients(a) === null;

/**
 * MIN_ALERT_GAP: the first wave of a non-flash original or update reserves a start slot once;
 * returns the slot while it is still ahead, null when the wave may go now.
 */
async function spacingSlot(d: FanoutDeps, alert: Alert, wave: string): Promise<number | null> {
  const gap = d.workflow.minAlertGapMs;
  if (gap <= 0 || alert.flash || isHeldWave(wave) || (alert.kind !== 'original' && alert.kind !== 'update')) return null;
  let slot = (await d.progress.revisions.read(alert.id, alert.rev)).spacedUntil;
  if (!slot) {
    const reserved = await d.spacing.reserve(gap);
    await d.progress.revisions.hold(alert.id, alert.rev, reserved);
    slot = reserved;
  }
  return slot > Date.now() + 20 ? slot : null;
}

/** The revision's audience on one channel, computed once and kept with the alert's keys. */
async function freezeAudience(d: FanoutDeps, alert: Alert, ch: Channel): Promise<void> {
  const st = await d.progress.revisions.read(alert.id, alert.rev);
  if (st.figures[ch].targeted !== undefined) return;
  let bits = await audienceBits(d, alert, ch);
  // Readers of the daily digest get this revision in their summary, not now: one ANDNOT.
  if (ch === 'email' && alert.kind !== 'test') bits = andNot(bits, await d.digests.readers());
  await d.progress.storeAudience(alert.id, alert.rev, ch, bits);
  await d.progress.setTargeted(alert.id, alert.rev, ch, popcount(bits));
}

async function audienceBits(d: FanoutDeps, alert: Alert, ch: Channel): Promise<Buffer> {
  // Never the subscribers when the channel has its own list for this alert (a test).
  const own = d.recipients[ch].ownRecipients(alert);
  if (own) return bitmapOf(own);
  if (alert.kind === 'correction') {
    const earlier = Array.from({ length: alert.rev - 1 }, (_, i) => i + 1);
    return d.audience.onlyActive(ch, await d.progress.reached(alert.id, earlier, ch));
  }
  const topicIds = alert.topics.length === 0 ? null : await d.topics.existingIds(alert.topics);
  return d.audience.snapshot(ch, topicIds);
}

async function enqueueBatches(d: FanoutDeps, f: FanoutJob, ch: Channel, lane: Lane): Promise<number> {
  const { alertId, rev, wave, gen } = f;
  const queue = deliveryQueue(d.queues, ch, lane);
  // The normal lane takes turns between sends (lanes.ts); the flash lane is served in order.
  const first = lane === 'normal' ? await firstPriority(queue) : undefined;
  const total = await d.progress.waveBytes(alertId, rev, ch, wave);
  let pending: DeliveryJob[] = [];
  let count = 0;
  // The first batch goes out alone, so the first recipients are reached at once; then groups grow
  // (4, 16, 64, then ENQUEUE_EVERY): one big addBulk is a long Lua run on Redis's single thread,
  // and right after the first batch it would hold up that batch's own reads for ~15 ms.
  let group = 1;
  const flush = async (): Promise<boolean> => {
    if (pending.length === 0) return true;
    if (!(await d.progress.mayContinue(alertId, rev, gen))) return false;
    // Registered before they are queued, so the revision can never look finished in between.
    await d.progress.batchesQueued(
      alertId,
      rev,
      pending.map((j) => ({ ch, wave, start: j.start })),
    );
    await enqueueDeliveries(
      queue,
      pending,
      first === undefined ? undefined : pending.map((_, i) => batchPriority(first, count - pending.length + i)),
    );
    pending = [];
    return true;
  };
  const add = async (job: DeliveryJob): Promise<boolean> => {
    pending.push(job);
    count++;
    if (pending.length < group) return true;
    group = Math.min(ENQUEUE_EVERY, group * 4);
    return flush();
  };
  for (let from = 0; from < total; from += CHUNK_BYTES) {
    const bytes = await d.progress.waveRange(alertId, rev, ch, wave, from, Math.min(total, from + CHUNK_BYTES) - 1);
    for (const { start, size } of chunkBatches(bytes, from * 8, d.batchSize, lane === 'flash')) {
      if (!(await add({ alertId, rev, channel: ch, start, size, wave, gen }))) return count - pending.length;
    }
  }
  if (!(await flush())) return count - pending.length;
  return count;
}

/** A wave is done; when it was the revision's last piece of work, alert.delivered goes out. */
async function waveDone(d: FanoutDeps, id: string, rev: number, wave: string): Promise<void> {
  if (await d.progress.waveDone(id, rev, wave)) await revisionDelivered(d, id, rev);
}
