// Four eyes over APPROVAL_THRESHOLD: how many a revision would reach, counted at publish and
// again when its first wave runs, because a scheduled alert's audience can grow in between.
import type { Domain } from '../services';
import { popcount } from '../bits';
import type { Alert } from '../model';

export type SizeDeps = Pick<Domain, 'progress' | 'audience' | 'topics'>;

/** Active subscribers the revision targets now, summed over its channels. */
export async function audienceSize(d: SizeDeps, alert: Alert): Promise<number> {
  let total = 0;
  const topicIds = alert.topics.length === 0 ? null : await d.topics.existingIds(alert.topics);
  for (const ch of alert.channels) {
    if (alert.kind === 'correction') {
      const earlier = Array.from({ length: alert.rev - 1 }, (_, i) => i + 1);
      total += popcount(await d.audience.onlyActive(ch, await d.progress.reached(alert.id, earlier, ch)));
    } else {
      total += await d.audience.count(ch, topicIds);
    }
  }
  return total;
}

/** The audience when it is over the threshold (approval needed), else null. Tests never need it. */
export async function overThreshold(d: SizeDeps, alert: Alert, threshold: number | undefined): Promise<number | null> {
  if (threshold === undefined || alert.kind === 'test') return null;
  const size = await audienceSize(d, alert);
  return size > threshold ? size : null;
}
