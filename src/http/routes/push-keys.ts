// GET /api/push/keys (editors): each VAPID key we sign with, by fingerprint, and how many active
// subscribers were made with it: when an old key has none left, it can leave VAPID_PREVIOUS_KEYS.
// It also says how many subscriptions are in quarantine; /api/push/quarantine lists them (push
// service and origin, never the endpoint) and restores one.
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { fingerprint } from '../../secrets';
import { classify } from '../../push/service-kind';
import { notFound } from '../../errors';
import { editorRoutes } from '../auth';

/** The console shows the first ones; the count says how many there are. */
const LISTED = 1000;
const idParam = z.coerce
  .number()
  .int()
  .min(1)
  .max(2 ** 31);

export function pushKeyRoutes(d: Domain): Router {
  const r = Router();
  const e = editorRoutes(r, d.secrets.editors);
  e.get('/api/push/keys', async (_req, res) => {
    const [usage, quarantined] = await Promise.all([d.pushKeys.usage(), d.pushQuarantine.quarantinedIds()]);
    res.json({
      keys: usage.map((u, i) => ({ fingerprint: fingerprint(u.publicKey), current: i === 0, subscribers: u.subscribers })),
      quarantined: quarantined.length,
    });
  });

  e.get('/api/push/quarantine', async (_req, res) => {
    const ids = await d.pushQuarantine.quarantinedIds();
    const records = await d.pushSubscribers.getMany(ids.slice(0, LISTED));
    const subscribers = [...records.values()].map((rec) => ({
      id: String(rec.id),
      service: classify(rec.endpoint, d.allowlist),
      origin: rec.origin,
    }));
    res.json({ count: ids.length, subscribers });
  });

  e.post('/api/push/quarantine/:id/restore', async (req, res) => {
    const id = idParam.safeParse(req.params.id);
    // Only a stored subscriber may come back: the active bit of a deleted one would be a ghost.
    const rec = id.success ? await d.pushSubscribers.get(id.data) : null;
    if (!rec || !(await d.pushQuarantine.restore(rec.id))) throw notFound('quarantined subscription');
    res.status(204).end();
  });
  return r;
}
