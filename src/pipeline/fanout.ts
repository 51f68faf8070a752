// Hop 3: one fan-out wave. The first wave of a revision freezes its audience per channel (topics,
// the earlier recipients for a correction, the test list for a test); every wave then takes out
// who is settled and who is in quiet hours, books a later wave for when their window ends, and
// walks what is left, enqueueing one delivery job per block of ids that holds a recipient. Jobs
// carry ids only. The cancel flag is read before each enqueue, so a cancel stops the walk too.
import { DelayedError, type Job } from 'bullmq';
import type { Alert } from '../store/alerts';
import type { Channel } from '../store/keys';
import type { Domain } from '../services';
import { deliveryJobId, type DeliveryJob, type FanoutJob, type Queues } from './queues';
import { PermanentDeliveryError } from '../errors';
import { isHeldWave, queueHeldWave } from './waves';
import { bitmapOf, orInto, popcount } from '../bits';

const CHUNK_BYTES = 64 * 1024; // 524,288 ids read per GETRANGE
const ENQUEUE_EVERY = 200;

export type FanoutDeps = Pick<Domain, 'alerts' | 'progress' | 'audience' | 'topics' | 'quiet' | 'spacing' | 'log'> & {
  queues: Queues;
  batchSize: number;
  workflow: Domain['config']['workflow'];
};

export function fanoutProcessor(d: FanoutDeps) {
  return async (job: Job<FanoutJob>, token?: string): Promise<Record<string, unknown>> => {
    const { alertId, rev, wave, gen } = job.data;
    const alert = await d.alerts.getRev(alertId, rev);
    if (!alert) throw new PermanentDeliveryError(`alert ${alertId} revision ${rev} does not exist`);
    if (!(await d.progress.mayContinue(alertId, rev, gen))) {
      // Cancelled, or a newer revision superseded this one while it was held: drop the wave.
      await d.progress.waveDone(alertId, rev, wave);
      return { stopped: true };
    }
    await d.progress.waveStarted(alertId, rev, wave);
    await d.progress.transition(alertId, rev, 'scheduled', '');
    const slot = await spacingSlot(d, alert, wave);
    if (slot !== null && token) {
      await job.moveToDelayed(slot, token);
      throw new DelayedError();
    }
    const batches: Record<string, number> = {};
    for (const ch of alert.channels) {
      await freezeAudience(d, alert, ch);
      const quiet = subjectToQuietHours(alert) ? await d.quiet.quietNow(ch, d.workflow.quietHours) : new Map<number, Buffer>();
      let mask: Buffer | undefined;
      for (const m of quiet.values()) mask = orInto(mask, m);
      const size = await d.progress.buildWave(alertId, rev, ch, wave, mask);
      for (const [end, m] of quiet) {
        if ((await d.progress.countWithin(alertId, rev, ch, m)) > 0) await queueHeldWave(d, alertId, rev, gen, end);
      }
      batches[ch] = size === 0 ? 0 : await enqueueBatches(d, job.data, ch);
    }
    await d.progress.waveDone(alertId, rev, wave);
    return { batches };
  };
}

const subjectToQuietHours = (a: Alert) => !a.flash && a.kind !== 'test';

/**
 * MIN_ALERT_GAP: the first wave of a non-flash original or update reserves a start slot once;
 * returns the slot while it is still ahead, null when the wave may go now.
 */
async function spacingSlot(d: FanoutDeps, alert: Alert, wave: string): Promise<number | null> {
  const gap = d.workflow.minAlertGapMs;
  if (gap <= 0 || alert.flash || isHeldWave(wave) || (alert.kind !== 'original' && alert.kind !== 'update')) return null;
  let slot = Number((await d.progress.state(alert.id, alert.rev)).spacedUntil ?? 0);
  if (!slot) {
    const reserved = await d.spacing.reserve(gap);
    await d.progress.set(alert.id, alert.rev, { spacedUntil: reserved });
    slot = reserved;
  }
  return slot > Date.now() + 20 ? slot : null;
}

/** The revision's audience on one channel, computed once and kept with the alert's keys. */
async function freezeAudience(d: FanoutDeps, alert: Alert, ch: Channel): Promise<void> {
  const st = await d.progress.state(alert.id, alert.rev);
  if (st[`${ch}:targeted`] !== undefined) return;
  const bits = await audienceBits(d, alert, ch);
  await d.progress.storeAudience(alert.id, alert.rev, ch, bits);
  await d.progress.setTargeted(alert.id, alert.rev, ch, popcount(bits));
}

async function audienceBits(d: FanoutDeps, alert: Alert, ch: Channel): Promise<Buffer> {
  if (alert.kind === 'test') {
    // Never the subscribers: push ids from TEST_RECIPIENTS, or positions in its email list.
    const list = d.workflow.testRecipients;
    return bitmapOf(ch === 'push' ? list.push : list.emails.map((_, i) => i + 1));
  }
  if (alert.kind === 'correction') {
    const earlier = Array.from({ length: alert.rev - 1 }, (_, i) => i + 1);
    return d.audience.onlyActive(ch, await d.progress.reached(alert.id, earlier, ch));
  }
  const topicIds = alert.topics.length === 0 ? null : await d.topics.existingIds(alert.topics);
  return d.audience.snapshot(ch, topicIds);
}

async function enqueueBatches(d: FanoutDeps, f: FanoutJob, ch: Channel): Promise<number> {
  const { alertId, rev, wave, gen } = f;
  const queue = ch === 'push' ? d.queues.push : d.queues.email;
  const blockBytes = d.batchSize / 8;
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
    await d.progress.batchesQueued(alertId, rev, pending.map((j) => ({ ch, wave, start: j.start })));
    await queue.addBulk(pending.map((data) => ({ name: 'deliver', data, opts: { jobId: deliveryJobId(data) } })));
    pending = [];
    return true;
  };
  for (let from = 0; from < total; from += CHUNK_BYTES) {
    const bytes = await d.progress.waveRange(alertId, rev, ch, wave, from, Math.min(total, from + CHUNK_BYTES) - 1);
    for (let off = 0; off < bytes.length; off += blockBytes) {
      const block = bytes.subarray(off, off + blockBytes);
      if (!block.some((b) => b !== 0)) continue;
      pending.push({ alertId, rev, channel: ch, start: (from + off) * 8, size: d.batchSize, wave, gen });
      count++;
      if (pending.length >= group) {
        if (!(await flush())) return count - pending.length;
        group = Math.min(ENQUEUE_EVERY, group * 4);
      }
    }
  }
  if (!(await flush())) return count - pending.length;
  return count;
}
