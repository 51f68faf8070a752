// GET /api/push/keys (editors): each VAPID key we sign with, by fingerprint, and how many active
// subscribers were made with it: when an old key has none left, it can leave VAPID_PREVIOUS_KEYS.
import { Router } from 'express';
import type { Domain } from '../../services';
import { fingerprint } from '../../secrets';
import { editorRoutes } from '../auth';

export function pushKeyRoutes(d: Domain): Router {
  const r = Router();
  const e = editorRoutes(r, d.secrets.editors);
  e.get('/api/push/keys', async (_req, res) => {
    const usage = await d.pushKeys.usage();
    res.json({
      keys: usage.map((u, i) => ({ fingerprint: fingerprint(u.publicKey), current: i === 0, subscribers: u.subscribers })),
    });
  });
  return r;
}
