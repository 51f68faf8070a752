// Hop 3: the fan-out job. It freezes the alert's audience per channel into a bitmap, then walks
// that bitmap and enqueues one delivery job per block of ids that holds at least one recipient.
// Jobs carry ids only. The first batches are queued within milliseconds, long before the walk ends.
import type { Job } from 'bullmq';
import type { Alerts } from '../src/store/alerts';
import type { Audience } from '../src/store/audience';
import type { Topics } from '../src/store/topics';
import type { Channel } from '../src/store/keys';
import { deliveryJobId, type DeliveryJob, type FanoutJob, type Queues } from '../src/queues';
import { PermanentDeliveryError } from '../src/errors';

const CHUNK_BYTES = 64 * 1024; // 524,288 ids read per GETRANGE
const ENQUEUE_EVERY = 200;

export interface FanoutDeps { alerts: Alerts; audience: Audience; topics: Topics; queues: Queues; batchSize: number }

export function fanoutProcessor(d: FanoutDeps) {
  return async (job: Job<FanoutJob>): Promise<{ batches: Record<string, number> }> => {
    const { alertId, rev } = job.data;
    const alert = await d.alerts.get(alertId);
    if (!alert) throw new PermanentDeliveryError(`alert ${alertId} does not exist`);
    const topicIds = alert.topics.length === 0 ? null : await d.topics.existingIds(alert.topics);
    const batches: Record<string, number> = {};
    for (const ch of alert.channels) {
      const targeted = await d.audience.snapshot(ch, alertId, rev, topicIds);
      await d.alerts.setTargeted(alertId, ch, targeted);
      batches[ch] = targeted === 0 ? 0 : await enqueueBatches(d, ch, alertId, rev);
      await d.alerts.setBatches(alertId, ch, batches[ch]!);
    }
    return { batches };
  };
}

async function enqueueBatches(d: FanoutDeps, ch: Channel, alertId: string, rev: number): Promise<number> {
  const queue = ch === 'push' ? d.queues.push : d.queues.email;
  const blockBytes = d.batchSize / 8;
  const total = await d.audience.bytes(ch, alertId, rev);
  let pending: DeliveryJob[] = [];
  let count = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    await queue.addBulk(pending.map((data) => ({ name: 'deliver', data, opts: { jobId: deliveryJobId(data) } })));
    pending = [];
  };
  for (let from = 0; from < total; from += CHUNK_BYTES) {
    const bytes = await d.audience.range(ch, alertId, rev, from, Math.min(total, from + CHUNK_BYTES) - 1);
    for (let off = 0; off < bytes.length; off += blockBytes) {
      const block = bytes.subarray(off, off + blockBytes);
      if (!block.some((b) => b !== 0)) continue;
      pending.push({ alertId, rev, channel: ch, start: (from + off) * 8, size: d.batchSize });
      count++;
      // The very first batch goes out alone so the first recipients are reached at once.
      if (count === 1 || pending.length >= ENQUEUE_EVERY) await flush();
    }
  }
  await flush();
  return count;
}
