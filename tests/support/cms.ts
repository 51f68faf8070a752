// A CMS calling our hook: the body signed the Standard Webhooks way with the standardwebhooks
// package, as a CMS plugin would, with knobs to get each part wrong on purpose.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { ApiAnswer, Stack } from './stack';

export const CMS_SECRET = `whsec_${Buffer.from('cle-de-test-du-cms-wordpress-0123456789').toString('base64')}`;
export const OTHER_CMS_SECRET = `whsec_${Buffer.from('cle-de-test-d-un-autre-cms-0123456789ab').toString('base64')}`;
export const CMS_HOOK_SECRETS = `wordpress:${CMS_SECRET},autre:${OTHER_CMS_SECRET}`;

export interface CmsCallOptions {
  secret?: string;
  /** When the CMS says it signed (default: now). */
  at?: Date;
  path?: string;
  /** Changes the body after signing. */
  tamper?: (body: string) => string;
  /** Headers to drop or override. */
  headers?: Record<string, string | undefined>;
}

export function cmsCall(s: Stack, payload: unknown, opts: CmsCallOptions = {}): Promise<ApiAnswer> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const id = `msg_${randomBytes(8).toString('hex')}`;
  const at = opts.at ?? new Date();
  const signed: Record<string, string> = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(opts.secret ?? CMS_SECRET).sign(id, at, body),
  };
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === undefined) delete signed[k];
    else signed[k] = v;
  }
  return s.api('POST', opts.path ?? '/api/hooks/cms', opts.tamper ? opts.tamper(body) : body, signed);
}
