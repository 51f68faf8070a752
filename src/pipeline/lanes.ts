// Priority lanes. A revision goes in the flash lane when it is a flash (or a test), or when it is
// `urgency: high` and reaches few readers (PRIORITY_MAX_AUDIENCE): a topic's « Bilan : au moins
// 32 morts » must not wait behind the two thousand queued batches of a send to everyone. The lane
// is chosen once, at publish, and kept with the revision (the console shows it).
//
// Three mechanisms, each for one way a flash could be held up:
// - its batches go to queues of their own (push-flash, email-flash), so they are never behind a
//   normal batch in a queue;
// - every worker process serves those queues with PRIORITY_CONCURRENCY slots of its own, so a
//   process busy with big batches takes a flash batch at once, without waiting for a slot;
// - while a flash batch runs in a process, the normal batches of that channel there start no new
//   send (LaneGate): the flash gets the CPU and the push connections within one round trip,
//   and the normal batches resume where they were. Batches are not cut short, only paused.
//
// Within the normal lane, two big sends share the workers instead of the second waiting for the
// first: each batch gets a BullMQ priority that grows with its index in the wave, counted from
// where the queue stands when the wave starts (the lowest priority still waiting). BullMQ serves
// lower numbers first and equal numbers in arrival order, so the batches of every running send
// take turns, one each, whenever the second send was published.
import type { Queue } from 'bullmq';
import { audienceSize, type SizeDeps } from './approval';
import { popcount } from '../bits';
import type { Alert, Lane } from '../model';

/** The lane of a new revision; the audience is counted only for an urgency-high non-flash. */
export async function chooseLane(d: SizeDeps, alert: Alert, maxAudience: number): Promise<Lane> {
  if (alert.flash || alert.kind === 'test') return 'flash';
  if (alert.urgency !== 'high' || maxAudience === 0) return 'normal';
  return (await audienceSize(d, alert)) <= maxAudience ? 'flash' : 'normal';
}

/** BullMQ's largest priority (PRIORITY_LIMIT, served last); a wave's later batches all share it. */
const MAX_PRIORITY = 2 ** 21 - 1;

/** Where a wave's batches start in the normal lane: the lowest priority still waiting, or 1. */
export async function firstPriority(queue: Pick<Queue, 'getPrioritized'>): Promise<number> {
  const [next] = await queue.getPrioritized(0, 0);
  return Math.min(MAX_PRIORITY, Math.max(1, next?.priority ?? 1));
}

/** The BullMQ priority of the index-th batch of a wave whose first batch got `first`. */
export const batchPriority = (first: number, index: number): number => Math.min(MAX_PRIORITY, first + index);

/**
 * The delivery batches of one chunk of a wave's bitmap, whose first bit is the id `firstId`: one
 * per block of `blockIds` ids that holds a recipient. In the flash lane (`dense`) a batch spans
 * consecutive blocks until it holds `blockIds` recipients: a flash topic's hundred readers are
 * spread over every block, and a batch per block would cost each reader a job's round trips and a
 * turn of the lane's few slots. A batch never leaves its chunk, so its reads stay bounded.
 */
export function* chunkBatches(
  bytes: Buffer,
  firstId: number,
  blockIds: number,
  dense: boolean,
): Generator<{ start: number; size: number }> {
  const blockBytes = blockIds / 8;
  let open: { start: number; size: number } | undefined;
  let held = 0;
  for (let off = 0; off < bytes.length; off += blockBytes) {
    const block = bytes.subarray(off, off + blockBytes);
    if (!block.some((b) => b !== 0)) continue;
    const start = firstId + off * 8;
    if (!dense) {
      yield { start, size: blockIds };
      continue;
    }
    const n = popcount(block);
    if (open && held + n <= blockIds) {
      open.size = start + blockIds - open.start;
      held += n;
      continue;
    }
    if (open) yield open;
    open = { start, size: blockIds };
    held = n;
  }
  if (open) yield open;
}

/**
 * One per process and channel: held while a flash batch of that channel runs here. Normal batches
 * ask `passage()` before each send and wait for the promise it returns, if any.
 */
export class LaneGate {
  private held = 0;
  private opened: Promise<void> | undefined;
  private open: (() => void) | undefined;

  /** A flash batch starts; the function returned says it ended (calling it twice is harmless). */
  hold(): () => void {
    if (this.held++ === 0)
      this.opened = new Promise<void>((resolve) => {
        this.open = resolve;
      });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.held > 0) return;
      this.open?.();
      this.opened = undefined;
      this.open = undefined;
    };
  }

  /** Undefined while no flash batch runs; else a promise settled when the last one ends. */
  passage(): Promise<void> | undefined {
    return this.opened;
  }

  /** Runs a flash batch with the gate held. */
  async during<T>(fn: () => Promise<T>): Promise<T> {
    const release = this.hold();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
