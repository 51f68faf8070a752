// A wave is one pass of the fan-out over a revision's audience. The first wave of a generation
// ("g0", or "g1" after a resume) starts at publish, at `publishAt`, or on approval; held waves
// ("g0h<ms>") start when a quiet window ends. Each wave sends only to who is still unsettled,
// so any number of waves reach each recipient at most once.
import type { Alert } from './store/alerts';
import type { Progress } from './store/progress';
import { fanoutJobId, type Queues } from './queues';

export interface WaveDeps { progress: Progress; queues: Queues }

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
  await d.queues.fanout.add('fanout', { alertId: alert.id, rev: alert.rev, wave, gen }, { jobId: fanoutJobId(alert.id, alert.rev, wave), ...(delay > 0 ? { delay } : {}) });
}

/** Queues a wave for the subscribers whose quiet window ends at `endMs`; once per end. */
export async function queueHeldWave(d: WaveDeps, alertId: string, rev: number, gen: number, endMs: number): Promise<void> {
  const wave = heldWave(gen, endMs);
  if (!(await d.progress.waveQueued(alertId, rev, wave, endMs))) return;
  // A second of slack: the wave must find the window over on the subscribers' clock.
  const delay = Math.max(0, endMs + 1000 - Date.now());
  await d.queues.fanout.add('fanout', { alertId, rev, wave, gen }, { jobId: fanoutJobId(alertId, rev, wave), delay });
}
