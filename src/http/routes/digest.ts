// The daily digest as editors see it: when the next tick runs, how many groups and readers there
// are, and what the last run did. Read-only; the console shows it under the topics.
import { Router } from 'express';
import type { Domain } from '../../services';
import type { Queues } from '../../pipeline/queues';
import { nextDigestTick } from '../../pipeline/digest';
import { popcount } from '../../bits';
import { editorRoutes } from '../auth';
import { clockText, nextDue } from '../../digest-clock';

export function digestRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  editorRoutes(r, d.secrets.editors).get('/api/digest', async (_req, res) => {
    const [next, groups, readers, last] = await Promise.all([
      nextDigestTick(queues.digest),
      d.digests.groups(),
      d.digests.readers(),
      d.digests.lastRun(),
    ]);
    const now = Date.now();
    const upcoming = groups
      .map((g) => ({ at: nextDue(g.timeZone, g.minute, now), timeZone: g.timeZone, time: clockText(g.minute) }))
      .sort((a, b) => a.at - b.at)[0];
    res.json({
      // The next minute the scheduler ticks (null: no worker has registered it yet).
      nextTick: next === null ? null : new Date(next).toISOString(),
      // The next group due: its instant, and its time on its readers' clock.
      nextRun: upcoming ? { at: new Date(upcoming.at).toISOString(), timeZone: upcoming.timeZone, time: upcoming.time } : null,
      groups: groups.map((g) => ({ timeZone: g.timeZone, time: clockText(g.minute) })),
      readers: popcount(readers),
      lastRun: last,
    });
  });
  return r;
}
