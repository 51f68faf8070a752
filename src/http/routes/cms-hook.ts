// The CMS hook in: `POST /api/hooks/cms` (or `/api/hooks/cms/<name>`), signed the Standard
// Webhooks way with the CMS's own `whsec_` secret from CMS_HOOK_SECRETS. The signature covers
// the raw bytes, so this route reads its body itself, before the JSON parser. Checked in order,
// before anything is parsed or stored: the three headers, the timestamp (more than five minutes
// off is refused, as the specification says, so a captured request cannot be replayed later),
// then the signature against each configured secret (or the named CMS's). Every failure counts
// against the address like a wrong token (signin-throttle.ts).
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { Webhook } from 'standardwebhooks';
import type { Domain } from '../../services';
import type { Queues } from '../../pipeline/queues';
import { alertInputSchema } from '../../schemas';
import { ApiError, requireJson } from '../errors';
import { tokenChecked } from '../signin-throttle';
import { cmsHook, type CmsRequest } from '../../pipeline/cms';
import type { CmsSecret } from '../../config';

/** The specification's tolerance, both ways (a CMS whose clock runs ahead is as suspect). */
export const TIMESTAMP_TOLERANCE_S = 5 * 60;

const postIdSchema = z
  .union([z.string().regex(/^[\x21-\x7e]{1,100}$/, 'postId is 1 to 100 visible ASCII characters'), z.number().int().nonnegative()])
  .transform(String);
/** Exported for the API description (OpenAPI): the body a CMS sends. */
export const cmsHookSchema = z
  .object({
    postId: postIdSchema,
    revision: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
    title: z.string().optional(),
    body: z.string().optional(),
    url: z.string().optional(),
    topics: z.array(z.string()).optional(),
    flash: z.boolean().optional(),
    action: z.enum(['publish', 'cancel']).default('publish'),
  })
  .strict();

const unauthorized = (code: string, message: string) => new ApiError(401, code, message);

/** The CMS whose secret signed this request, or a 401 naming what is wrong. */
function verify(req: Request, body: Buffer, secrets: readonly CmsSecret[], now = Date.now()): string {
  const h = (name: string) => req.get(name);
  const [id, timestamp, signature] = [h('webhook-id'), h('webhook-timestamp'), h('webhook-signature')];
  if (!id || !timestamp || !signature)
    throw unauthorized('invalid_signature', 'webhook-id, webhook-timestamp and webhook-signature headers are required');
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized('invalid_signature', 'webhook-timestamp must be Unix seconds');
  if (Math.abs(now / 1000 - Number(timestamp)) > TIMESTAMP_TOLERANCE_S)
    throw unauthorized('stale_timestamp', `webhook-timestamp is more than ${TIMESTAMP_TOLERANCE_S / 60} minutes from our clock`);
  const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
  let found: string | null = null;
  // Every secret is tried, whatever matched: the time taken says nothing about which CMS signed.
  for (const s of secrets) {
    try {
      new Webhook(s.secret).verify(body, headers, { jsonParse: false });
      found ??= s.name;
    } catch {
      /* not this one */
    }
  }
  if (found === null) throw unauthorized('invalid_signature', 'the signature does not match');
  return found;
}

function toRequest(raw: unknown): CmsRequest {
  const input = cmsHookSchema.parse(raw);
  if (input.action === 'cancel') return { action: 'cancel', postId: input.postId };
  if (input.revision === undefined)
    throw new ApiError(400, 'invalid_input', 'revision: is required to publish', [{ field: 'revision', message: 'required' }]);
  if (input.url === undefined)
    throw new ApiError(400, 'invalid_input', 'url: is required to publish', [{ field: 'url', message: 'required' }]);
  // The same rules as an editor's alert: lengths, URL, the newsroom's topics.
  const alert = alertInputSchema.parse({
    title: input.title,
    body: input.body ?? '',
    url: input.url,
    topics: input.topics ?? [],
    flash: input.flash ?? false,
  });
  return { action: 'publish', postId: input.postId, revision: input.revision, alert };
}

export function cmsHookRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  const raw = express.raw({ type: 'application/json', limit: d.config.http.bodyLimit });
  r.post(['/api/hooks/cms', '/api/hooks/cms/:name'], requireJson, raw, async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const named = req.params.name;
    const secrets = named === undefined ? d.config.cms.secrets : d.config.cms.secrets.filter((s) => s.name === named);
    let cms: string;
    try {
      cms = verify(req, body, secrets);
    } catch (err) {
      await tokenChecked(req, res, false);
      throw err;
    }
    await tokenChecked(req, res, true);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError(400, 'invalid_json', 'request body is not valid JSON');
    }
    const result = await cmsHook({ ...d, queues }, cms, toRequest(parsed));
    res.status(result.outcome === 'published' || result.outcome === 'updated' ? 202 : 200).json(result);
  });
  return r;
}
