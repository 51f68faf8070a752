// What readers do with an alert, reported back: the service worker's receipts (`received` once a
// notification is on screen, `clicked` when it is opened) and the email's article link, which
// passes through /r/<token> on its way to the article. Tokens are signed (tokens.ts) and name an
// alert, a revision and a subscriber, never a destination: /r/ only ever sends a reader to the
// alert's own URL. A forged token is refused before Redis is asked anything; a genuine one costs
// at most one bit per (revision, subscriber, event), however often it is replayed.
import express, { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { ApiError } from '../errors';
import { DELIVERY_EVENTS } from '../../model';

/** Exported for the API description (OpenAPI). */
export const receiptBody = z.object({ receipt: z.string().max(200), event: z.enum(DELIVERY_EVENTS) });
const invalidReceipt = () => new ApiError(400, 'invalid_receipt', 'receipt: not a receipt this service signed');

export function receiptRoutes(d: Domain): Router {
  const r = Router();

  // navigator.sendBeacon can only send text/plain without a preflight: take it as JSON text.
  r.post('/api/receipts', express.text({ type: 'text/plain', limit: '1kb' }), async (req, res) => {
    if (!req.is('application/json') && !req.is('text/plain'))
      throw new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json or text/plain');
    let raw: unknown = req.body;
    if (typeof raw === 'string') {
      try {
        raw = JSON.parse(raw);
      } catch {
        throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
      }
    }
    const body = receiptBody.parse(raw ?? {});
    const ref = d.tokens.verifyDelivery('receipt', body.receipt);
    if (!ref) throw invalidReceipt();
    const { counted, receipt } = await d.reports.engage(ref.alertId, ref.rev, 'push', ref.subscriberId, body.event);
    if (counted) d.metrics.engaged('push', body.event);
    if (receipt) d.metrics.engaged('push', 'received');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ counted });
  });

  // The email's article link. Counting never stands between a reader and the article: if Redis
  // is away, the click is lost and the reader still goes on.
  r.get('/r/:token', async (req, res) => {
    const ref = d.tokens.verifyDelivery('click', req.params.token);
    if (!ref) throw new ApiError(400, 'invalid_token', 'this link is invalid');
    const alert = await d.alerts.getRev(ref.alertId, ref.rev);
    if (!alert?.url) throw new ApiError(404, 'not_found', 'alert not found');
    try {
      if ((await d.reports.engage(ref.alertId, ref.rev, 'email', ref.subscriberId, 'clicked')).counted)
        d.metrics.engaged('email', 'clicked');
    } catch (err) {
      d.log.warn({ alertId: ref.alertId, err: (err as Error).message }, 'email click not counted');
    }
    res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    res.redirect(302, alert.url);
  });

  return r;
}
