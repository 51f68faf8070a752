// Providers' event webhooks, for newsrooms that send through an ESP: POST /api/hooks/email/mailgun,
// /api/hooks/email/postmark and /api/hooks/email/sendgrid. Each is checked the way its provider
// documents it before anything is read: Mailgun signs timestamp + token with HMAC-SHA256 under the
// webhook signing key; Postmark sends the basic-auth user:password set in its webhook URL;
// SendGrid signs timestamp + raw body with ECDSA P-256 (SHA-256), checked with its public
// verification key. A wrong or missing signature, or a provider whose key is not configured, is
// 401 and changes nothing.
import { createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import type { FeedbackKind } from '../../pipeline/feedback';
import type { MessageRef } from '../../tokens';
import { ApiError, badRequest } from '../errors';

/** Mailgun's advice: refuse a signature whose timestamp is far from now (a replay). */
const MAILGUN_MAX_SKEW_S = 15 * 60;

const unauthorized = (provider: string) => new ApiError(401, 'bad_signature', `the ${provider} webhook signature is missing or wrong`);

const sameText = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};

const mailgunSignature = z.object({
  signature: z.object({ timestamp: z.string().regex(/^\d{1,12}$/), token: z.string().min(1).max(200), signature: z.string().max(200) }),
});
const mailgunEvent = z.object({
  'event-data': z.object({
    event: z.string().max(40),
    severity: z.string().max(40).optional(),
    recipient: z.string().max(320),
    message: z.object({ headers: z.object({ 'message-id': z.string().max(300).optional() }).optional() }).optional(),
  }),
});
const postmarkEvent = z.object({
  RecordType: z.string().max(40),
  Type: z.string().max(40).optional(),
  Email: z.string().max(320),
});

/** Our Message-ID, `<alert.rev.subscriber@host>`, as a provider quotes it back. */
function refOf(messageId: string | undefined): MessageRef | undefined {
  const m = /^<?([a-z0-9]{1,24})\.(\d{1,6})\.(\d{1,12})@/.exec(messageId ?? '');
  return m ? { alertId: m[1], rev: Number(m[2]), subscriberId: Number(m[3]) } : undefined;
}

const sendgridEvents = z
  .array(
    z.object({
      email: z.string().max(320),
      event: z.string().max(40),
      type: z.string().max(40).optional(),
      status: z.string().max(40).optional(),
      'smtp-id': z.string().max(300).optional(),
    }),
  )
  .max(5000);

/** A SendGrid event's meaning: `blocked` and 5.7.x are refusals of the message (policy), not of the address. */
function sendgridKind(ev: z.infer<typeof sendgridEvents>[number]): FeedbackKind | null {
  if (ev.event === 'spamreport') return 'complaint';
  if (ev.event === 'deferred') return 'soft';
  if (ev.event !== 'bounce') return null;
  return ev.type === 'blocked' || ev.status?.startsWith('5.7.') || ev.status?.startsWith('4') ? 'soft' : 'hard';
}

const USABLE_ADDRESS = /^[^\s@]+@[^\s@]+$/;
const POSTMARK_HARD = ['HardBounce', 'BadEmailAddress'];
const POSTMARK_SOFT = ['SoftBounce', 'Transient', 'DnsError'];

export function hookRoutes(d: Domain): Router {
  const r = Router();
  const { mailgunSigningKey, postmarkAuth } = d.config.email.bounce;

  r.post('/api/hooks/email/mailgun', async (req, res) => {
    const signed = mailgunSignature.safeParse(req.body);
    if (!mailgunSigningKey || !signed.success) throw unauthorized('Mailgun');
    const { timestamp, token, signature } = signed.data.signature;
    const expected = createHmac('sha256', mailgunSigningKey)
      .update(timestamp + token)
      .digest('hex');
    const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= MAILGUN_MAX_SKEW_S;
    if (!sameText(signature.toLowerCase(), expected) || !fresh) throw unauthorized('Mailgun');
    const ev = mailgunEvent.parse(req.body)['event-data'];
    // A signed request seen before is a replay: acknowledged, not acted on twice. Marked only once
    // handled, so the provider's own retry of a request we failed is still acted on.
    const seen = d.keys.hookToken('mailgun', createHash('sha256').update(token).digest('hex').slice(0, 32));
    if (await d.redis.exists(seen)) return void res.json({ handled: false, replay: true });
    const kind: FeedbackKind | null =
      ev.event === 'complained' ? 'complaint' : ev.event === 'failed' ? (ev.severity === 'permanent' ? 'hard' : 'soft') : null;
    const result = await apply(d, kind, ev.recipient, 'mailgun', refOf(ev.message?.headers?.['message-id']));
    await d.redis.set(seen, '1', 'EX', 2 * MAILGUN_MAX_SKEW_S);
    res.json(result);
  });

  r.post('/api/hooks/email/postmark', async (req, res) => {
    if (!postmarkAuth || !sameText(basicAuth(req) ?? '', postmarkAuth)) throw unauthorized('Postmark');
    const ev = postmarkEvent.parse(req.body);
    const type = ev.Type ?? '';
    const kind: FeedbackKind | null =
      ev.RecordType === 'SpamComplaint' || type === 'SpamComplaint'
        ? 'complaint'
        : ev.RecordType !== 'Bounce'
          ? null
          : POSTMARK_HARD.includes(type)
            ? 'hard'
            : POSTMARK_SOFT.includes(type)
              ? 'soft'
              : null;
    res.json(await apply(d, kind, ev.Email, 'postmark'));
  });

  return r;
}

/**
 * SendGrid's signed event webhook. Mounted before the JSON parser: the signature covers the raw
 * bytes. Timestamps are held to the same window as Mailgun's, and a signature is acted on once.
 */
export function sendgridHookRoutes(d: Domain): Router {
  const r = Router();
  const spki = d.config.email.bounce.sendgridPublicKey;
  const key: KeyObject | undefined = spki ? createPublicKey({ key: Buffer.from(spki, 'base64'), format: 'der', type: 'spki' }) : undefined;
  const raw = express.raw({ type: () => true, limit: d.config.http.bodyLimit });
  r.post('/api/hooks/email/sendgrid', raw, async (req, res) => {
    const signature = req.get('x-twilio-email-event-webhook-signature') ?? '';
    const timestamp = req.get('x-twilio-email-event-webhook-timestamp') ?? '';
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!key || !/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9+/]{16,200}={0,2}$/.test(signature)) throw unauthorized('SendGrid');
    const signed = verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp), body]),
      { key, dsaEncoding: 'der' },
      Buffer.from(signature, 'base64'),
    );
    const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= MAILGUN_MAX_SKEW_S;
    if (!signed || !fresh) throw unauthorized('SendGrid');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw badRequest('the body is not JSON');
    }
    const events = sendgridEvents.parse(parsed);
    const seen = d.keys.hookToken('sendgrid', createHash('sha256').update(signature).digest('hex').slice(0, 32));
    if (await d.redis.exists(seen)) return void res.json({ handled: 0, replay: true });
    let handled = 0;
    for (const ev of events) {
      // One unusable event must not refuse the batch: SendGrid would post it again and again.
      if (!USABLE_ADDRESS.test(ev.email)) continue;
      const result = await apply(d, sendgridKind(ev), ev.email, 'sendgrid', refOf(ev['smtp-id']));
      if (result.handled) handled++;
    }
    await d.redis.set(seen, '1', 'EX', 2 * MAILGUN_MAX_SKEW_S);
    res.json({ handled, events: events.length });
  });
  return r;
}

/** `Authorization: Basic base64(user:password)` → "user:password". */
function basicAuth(req: Request): string | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]{1,512})$/.exec(req.get('authorization') ?? '');
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : undefined;
}

async function apply(d: Domain, kind: FeedbackKind | null, email: string, source: 'mailgun' | 'postmark' | 'sendgrid', ref?: MessageRef) {
  // Events we do not act on (delivered, opened…) are acknowledged, or the provider retries them.
  if (!kind) return { handled: false };
  if (!USABLE_ADDRESS.test(email)) throw badRequest('the event names no usable address');
  const effect = await d.feedback.onAddress(email, kind, source, ref);
  return { handled: true, ...effect };
}
