// The public subscription routes: what a site's front end calls for Web Push and for the
// newsletter, and the pages behind the links in our emails.
import express, { Router, type Request, type Response } from 'express';
import type { Domain } from '../../services';
import type { Queues } from '../../queues';
import { emailSubscribeSchema, pushSubscriptionSchema, unsubscribePushSchema } from '../../schemas';
import { ApiError } from '../../errors';
import type { TokenPurpose } from '../../tokens';
import { requireJson } from '../errors';

const CONFIRM_MAIL_EVERY_MS = 10 * 60 * 1000;

export function subscriptionRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  const pushSchema = pushSubscriptionSchema(d.allowlist);

  r.get('/api/push/public-key', (_req, res) => {
    res.json({ publicKey: d.secrets.vapid.publicKey });
  });

  r.post('/api/subscriptions/push', requireJson, async (req, res) => {
    const input = pushSchema.parse(req.body ?? {});
    const { subscription: s, topics } = input;
    const { id } = await d.pushSubscribers.upsert({ endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth, topics });
    res.status(201).json({ id: String(id) });
  });

  r.delete('/api/subscriptions/push', requireJson, async (req, res) => {
    const { endpoint } = unsubscribePushSchema.parse(req.body ?? {});
    const id = await d.pushSubscribers.findId(endpoint);
    if (id !== null) await d.pushSubscribers.remove(id, endpoint);
    res.status(204).end();
  });

  r.post('/api/subscriptions/email', requireJson, async (req, res) => {
    const { email, topics } = emailSubscribeSchema.parse(req.body ?? {});
    const sub = await d.emailSubscribers.requestSubscription(email, topics);
    // At most one confirmation mail per address per 10 minutes, however often it is submitted:
    // the form must not become a way to flood a stranger's inbox.
    if (sub.status === 'pending') {
      await queues.mail.add('confirm', { kind: 'confirm', subscriberId: sub.id }, { deduplication: { id: `confirm-${sub.id}`, ttl: CONFIRM_MAIL_EVERY_MS } });
    }
    // The same answer whatever the address's state, so the endpoint tells strangers nothing.
    res.status(202).json({ status: 'pending', message: 'check your inbox to confirm' });
  });

  // Links in emails. GET shows a page and changes nothing (mail scanners prefetch links);
  // only the POST from the page's button, or a one-click unsubscribe (RFC 8058), acts.
  const linkPage = (purpose: TokenPurpose, page: { title: string; text: string; button: string }) => (req: Request, res: Response) => {
    tokenFrom(d, purpose, req);
    res.type('html').send(d.renderer.page('action', { title: d.renderer.t(page.title), text: d.renderer.t(page.text), button: d.renderer.t(page.button), action: req.originalUrl }));
  };
  const form = express.urlencoded({ extended: false, limit: '2kb' });

  r.get('/api/subscriptions/email/confirm', linkPage('confirm', { title: 'confirmPageTitle', text: 'confirmPageText', button: 'confirmButton' }));
  r.post('/api/subscriptions/email/confirm', form, async (req, res) => {
    const id = tokenFrom(d, 'confirm', req);
    const sub = await d.emailSubscribers.confirm(id);
    if (!sub) throw new ApiError(404, 'not_found', 'subscription not found');
    done(d, req, res, 'confirmed', 'confirmedPageTitle', 'confirmedPageText');
  });

  r.get('/api/subscriptions/email/unsubscribe', linkPage('unsubscribe', { title: 'unsubscribePageTitle', text: 'unsubscribePageText', button: 'unsubscribeButton' }));
  r.post('/api/subscriptions/email/unsubscribe', form, async (req, res) => {
    const id = tokenFrom(d, 'unsubscribe', req);
    const sub = await d.emailSubscribers.unsubscribe(id);
    if (!sub) throw new ApiError(404, 'not_found', 'subscription not found');
    done(d, req, res, 'unsubscribed', 'unsubscribedPageTitle', 'unsubscribedPageText');
  });

  return r;
}

function tokenFrom(d: Domain, purpose: TokenPurpose, req: Request): number {
  const token = typeof req.query.token === 'string' ? req.query.token : '';
  const v = d.tokens.verify(purpose, token);
  if ('error' in v) {
    throw v.error === 'expired'
      ? new ApiError(410, 'token_expired', 'this link has expired; ask for a new one')
      : new ApiError(400, 'invalid_token', 'this link is invalid');
  }
  return v.id;
}

function done(d: Domain, req: Request, res: Response, status: string, title: string, text: string): void {
  if (req.accepts(['html', 'json']) === 'html') {
    res.type('html').send(d.renderer.page('message', { title: d.renderer.t(title), text: d.renderer.t(text) }));
  } else {
    res.json({ status });
  }
}
