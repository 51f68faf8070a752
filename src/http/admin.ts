// Operations: bull-board at /admin/queues for signed-in editors (read-only but for a chief's
// retry of failed jobs, see board-writes.ts), and Prometheus at /metrics.
import { Router, type RequestHandler } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Domain } from '../services';
import type { Queues } from '../pipeline/queues';
import { ApiError } from './errors';
import { csrfMatches, isSafeMethod, requireEditor, sessionOf } from './auth';
import { boardCsp } from './security';
import { boardWrites } from './board-writes';

export const BOARD_PATH = '/admin/queues';

/**
 * bull-board's own script cannot send our CSRF header, so its unsafe requests (a chief's retry
 * or clean of failed jobs) are accepted from a session when the browser says they come from our
 * own origin (Origin header, which browsers set on every cross-origin-capable POST/PUT/DELETE
 * and cannot be forged by another site). Page loads without a session go to the console's sign-in.
 */
function boardGuard(d: Domain): RequestHandler {
  const bearer = requireEditor(d.secrets.editors);
  return (req, res, next) => {
    const session = sessionOf(res);
    if (req.headers.authorization !== undefined) {
      bearer(req, res, next);
      return;
    }
    if (!session) {
      if (req.method === 'GET' && req.accepts(['json', 'html']) === 'html') {
        res.redirect(303, `/console?suite=${encodeURIComponent(BOARD_PATH)}`);
        return;
      }
      bearer(req, res, next);
      return;
    }
    const origin = req.get('origin');
    const sameOrigin = origin !== undefined && origin === `${req.protocol}://${req.get('host')}`;
    if (!isSafeMethod(req) && !sameOrigin && !csrfMatches(req, session)) {
      next(new ApiError(403, 'csrf_failed', 'cross-site request refused'));
      return;
    }
    next();
  };
}

export function adminRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  const board = new ExpressAdapter();
  board.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [queues.fanout, queues.push, queues.email, queues.pushFlash, queues.emailFlash, queues.mail, queues.webhook, queues.digest].map(
      (q) => new BullMQAdapter(q),
    ),
    serverAdapter: board,
    options: {
      uiConfig: { boardTitle: 'dépêche', locale: { lng: 'fr-FR' }, hideDocsLink: true, miscLinks: [{ text: 'Console', url: '/console' }] },
    },
  });
  r.use(BOARD_PATH, boardCsp, boardGuard(d), boardWrites(d, queues), board.getRouter() as RequestHandler);

  // Open like most exporters: restrict it at the proxy or the network if counts are sensitive.
  d.metrics.watchQueues(queues);
  r.get('/metrics', async (_req, res) => {
    const { contentType, body } = await d.metrics.exposition();
    res.type(contentType).send(body);
  });
  return r;
}
