// Chief-only housekeeping of the abuse limits: lifting the subscription rate limit of one
// address, for instance a newsroom office or a school whose readers all share one NAT address.
import { isIP } from 'node:net';
import { Router } from 'express';
import type { Domain } from '../../services';
import { badRequest } from '../errors';
import type { RateLimiter } from '../abuse';
import { editorOf, editorRoutes } from '../auth';

export function limitRoutes(d: Domain, limiter: RateLimiter): Router {
  const r = Router();
  editorRoutes(r, d.secrets.editors, 'chief').delete('/api/limits/subscribe/:ip', async (req, res) => {
    const ip = String(req.params.ip);
    if (isIP(ip) === 0) throw badRequest('ip: must be an IPv4 or IPv6 address');
    await limiter.reset(ip);
    d.log.info({ by: editorOf(res.locals).name }, 'subscription rate limit lifted for one address');
    res.status(204).end();
  });
  return r;
}
