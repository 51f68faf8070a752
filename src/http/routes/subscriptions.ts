// The public subscription routes: what a site's front end calls for Web Push and for the
// newsletter, and the pages behind the links in our emails.
import express, { Router, type Request, type Response } from 'express';
import type { Domain } from '../../services';
import type { Queues } from '../../pipeline/queues';
import { enqueueConfirmation } from '../../pipeline/mail';
import { emailSubscribeSchema, pushSubscriptionSchema, unsubscribePushSchema } from '../../schemas';
import type { TokenPurpose } from '../../tokens';
import type { ConfirmOutcome } from '../../store/email-subscribers';
import { requireJson } from '../errors';
import { replaceSubscription } from '../../store/push-replace';
import { invalid } from '../../errors';
import { linkExpired, privatePage, readerRenderer, subscriptionGone, tokenFrom, verifiedToken, wantsHtml } from '../links';

export function subscriptionRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  const pushSchema = pushSubscriptionSchema(d.allowlist, d.config.workflow.quietWindows);
  const emailSchema = emailSubscribeSchema(d.config.workflow.quietWindows, d.config.digest.times);

  r.get('/api/push/public-key', (_req, res) => {
    res.json({ publicKey: d.secrets.vapid.publicKey });
  });

  r.post('/api/subscriptions/push', requireJson, async (req, res) => {
    const input = pushSchema.parse(req.body ?? {});
    const { subscription: s, topics, timeZone, quietHours, lang, applicationServerKey: key, replaces } = input;
    // A subscription made with a key we cannot sign with would be refused at every push.
    if (key !== undefined && !d.pushKeys.holds(key)) {
      throw invalid('applicationServerKey is not one of our VAPID keys: subscribe again with GET /api/push/public-key', [
        { field: 'applicationServerKey', message: 'not one of our VAPID keys' },
      ]);
    }
    const next = {
      endpoint: s.endpoint,
      p256dh: s.keys.p256dh,
      auth: s.keys.auth,
      topics,
      ...(timeZone ? { timeZone } : {}),
      ...(quietHours ? { quietHours } : {}),
      ...(lang ? { lang } : {}),
    };
    if (replaces) {
      const { id, replaced } = await replaceSubscription(d, replaces, next, key);
      res.status(201).json({ id: String(id), replaced });
      return;
    }
    const { id, created } = await d.pushSubscribers.upsert(next);
    // The key it was made with; a browser that does not say is assumed on the current key when
    // first stored, and an update that does not say leaves the recorded key as it was.
    if (key !== undefined || created) await d.pushKeys.record(id, key);
    res.status(201).json({ id: String(id) });
  });

  r.delete('/api/subscriptions/push', requireJson, async (req, res) => {
    const { endpoint } = unsubscribePushSchema.parse(req.body ?? {});
    const id = await d.pushSubscribers.findId(endpoint);
    if (id !== null) await d.pushSubscribers.remove(id, endpoint);
    res.status(204).end();
  });

  r.post('/api/subscriptions/email', requireJson, async (req, res) => {
    const { email, topics, timeZone, quietHours, digest, lang } = emailSchema.parse(req.body ?? {});
    // A known address keeps its topics, language and status: anyone can post anyone's address.
    const sub = await d.emailSubscribers.requestSubscription(email, topics, { timeZone, quietHours, digest, lang });
    // Asking again re-sends the link (the old one may have expired, or the reader left and wants
    // to come back), but at most one confirmation mail per address per CONFIRM_RESEND_INTERVAL,
    // however often the form is submitted: it must not become a way to flood a stranger's inbox.
    // A confirmed reader needs no link; a bounced address is dead and gets nothing.
    if (sub.status === 'pending' || sub.status === 'unsubscribed') {
      await enqueueConfirmation(queues.mail, sub.id, d.config.email.confirmResendSeconds);
    }
    // The same answer whatever the address's state, so the endpoint tells strangers nothing.
    res.status(202).json({ status: 'pending', message: 'check your inbox to confirm' });
  });

  // Links in emails. GET shows a page and changes nothing (mail scanners prefetch links);
  // only the POST from the page's button, or a one-click unsubscribe (RFC 8058), acts.
  const linkPage =
    (purpose: TokenPurpose, page: { title: string; text: string; button: string }) => async (req: Request, res: Response) => {
      const { id, version } = verifiedToken(d, purpose, req);
      // In the reader's language, as the email that led here (and so is a refusal).
      const r = await readerRenderer(d, res, id);
      // Refused before the button is shown when the click would be refused: the page is honest.
      if (purpose === 'confirm') confirmAnswer(await d.emailSubscribers.confirmPreview(id, version));
      const t = r.t.bind(r);
      privatePage(res).send(
        r.page('action', { title: t(page.title), text: t(page.text), button: t(page.button), action: req.originalUrl }),
      );
    };
  const form = express.urlencoded({ extended: false, limit: '2kb' });

  r.get(
    '/api/subscriptions/email/confirm',
    linkPage('confirm', { title: 'confirmPageTitle', text: 'confirmPageText', button: 'confirmButton' }),
  );
  r.post('/api/subscriptions/email/confirm', form, async (req, res) => {
    const { id, version } = verifiedToken(d, 'confirm', req);
    // A link mailed before the subscription last changed (confirmed, left, bounced) is spent:
    // the same answer as an expired one, and nothing changes. Clicking twice is fine.
    const r = await readerRenderer(d, res, id);
    confirmAnswer(await d.emailSubscribers.confirm(id, version));
    if (!wantsHtml(req)) {
      res.json({ status: 'confirmed' });
      return;
    }
    privatePage(res).send(r.page('message', { title: r.t('confirmedPageTitle'), text: r.t('confirmedPageText') }));
  });

  r.get(
    '/api/subscriptions/email/unsubscribe',
    linkPage('unsubscribe', { title: 'unsubscribePageTitle', text: 'unsubscribePageText', button: 'unsubscribeButton' }),
  );
  r.post('/api/subscriptions/email/unsubscribe', form, async (req, res) => {
    const id = tokenFrom(d, 'unsubscribe', req);
    const sub = await d.emailSubscribers.unsubscribe(id);
    if (!sub) throw subscriptionGone();
    if (!wantsHtml(req)) {
      res.json({ status: 'unsubscribed' });
      return;
    }
    const preferencesUrl = `/api/subscriptions/email/preferences?token=${d.tokens.sign('prefs', id)}`;
    const r = d.renderer.in(sub.lang);
    privatePage(res).send(r.emailPage('unsubscribed', r.t('unsubscribedPageTitle'), { email: sub.email, preferencesUrl }));
  });

  return r;
}

/** A confirmation link that names no record, or one that no longer applies, is refused. */
function confirmAnswer(outcome: ConfirmOutcome): void {
  if (outcome === 'gone') throw subscriptionGone();
  if (outcome === 'stale') throw linkExpired();
}
