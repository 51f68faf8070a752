// The newsroom's delivery figures over the last days (store/recent-reports.ts), for the console's
// « Performance » page. Editors only; bounded by `limit` whatever the window holds.
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { editorRoutes } from '../auth';
import { MAX_RECENT_ALERTS, RecentReports } from '../../store/recent-reports';

export const recentQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(30),
  limit: z.coerce.number().int().min(1).max(MAX_RECENT_ALERTS).default(MAX_RECENT_ALERTS),
});

export function reportRoutes(d: Domain): Router {
  const r = Router();
  const recent = new RecentReports(d.redis, d.keys, d.reports.targetSeconds);
  editorRoutes(r, d.secrets.editors).get('/api/reports/recent', async (req, res) => {
    const q = recentQuery.parse(req.query);
    res.set('Cache-Control', 'no-store');
    res.json(await recent.read(q));
  });
  return r;
}
