// The editor's bulk routes for push subscribers: NDJSON in (import from another provider) and
// NDJSON out (export). Both stream: a million lines never sit in memory at once.
import { Router } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Domain } from '../../services';
import { pushSubscriptionSchema } from '../../schemas';
import { ApiError } from '../errors';
import { exportSubscriptions, importSubscriptions } from '../ndjson-transfer';
import { editorRoutes } from '../auth';

const NDJSON = 'application/x-ndjson';

export function pushTransferRoutes(d: Domain): Router {
  const r = Router();
  const schema = pushSubscriptionSchema(d.allowlist, d.config.workflow.quietWindows);
  const e = editorRoutes(r, d.secrets.editors);

  e.post('/api/subscriptions/push/import', async (req, res) => {
    if (!req.is(NDJSON)) throw new ApiError(415, 'unsupported_media_type', `Content-Type must be ${NDJSON}, one subscription per line`);
    const summary = await importSubscriptions(req, d.pushSubscribers, schema, d.topics);
    d.log.info({ imported: summary.imported, updated: summary.updated, rejected: summary.rejected }, 'push subscribers imported');
    res.json(summary);
  });

  e.get('/api/subscriptions/push/export', async (_req, res) => {
    res.type(NDJSON);
    res.setHeader('Content-Disposition', 'attachment; filename="abonnes-push.ndjson"');
    res.setHeader('Cache-Control', 'no-store');
    // A failure half-way cuts the stream, which the client sees as an incomplete download.
    await pipeline(Readable.from(exportSubscriptions(d.pushSubscribers, d.topics)), res).catch((err: unknown) => {
      if (!res.headersSent) throw err;
      d.log.warn({ err: (err as Error).message }, 'push export interrupted');
    });
  });

  return r;
}
