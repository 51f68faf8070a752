// The paths of the integrations as OpenAPI: readers' receipts and email click links, the delivery
// report and the newsroom's recent figures, the suppression list, outbound webhooks, and the
// signed hooks a CMS or an email provider calls. Request bodies come from the zod schemas their
// routes validate with.
import { z } from 'zod';
import { receiptBody } from '../routes/receipts';
import { webhookCreateSchema, webhookUpdateSchema } from '../routes/webhooks';
import { cmsHookSchema } from '../routes/cms-hook';
import { emailSchema } from '../../schemas';
import { AUTH, alertIdParam, body, editorErrors, err, fromZod, json, noContent, op, ref, type Json } from './components';

const R = 'Lecteurs';
const A = 'Alertes';
const I = 'Intégrations';
const obj: Json = { type: 'object' };
const signed = (what: string): Json => json(`${what}: missing, wrong or stale signature; nothing changed`, ref('Error'));
const path = (name: string, description: string, example: string): Json => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
  example,
});
const figures = z.object({
  targeted: z.number(),
  accepted: z.number(),
  clicked: z.number(),
  withinTarget: z.number().nullable(),
  p90Ms: z.number().nullable().meta({ description: 'Time to 90 % of the accepted, from the first wave' }),
  ctr: z.number().nullable(),
});
const medians = z.object({
  withinTarget: z.number().nullable(),
  p90Ms: z.number().nullable(),
  ctr: z.number().nullable(),
  alerts: z.number(),
});
const recentReport = z.object({
  days: z.number(),
  since: z.string(),
  targetSeconds: z.number(),
  limit: z.number(),
  truncated: z.boolean(),
  alerts: z.array(z.object({ id: z.string(), rev: z.number(), title: z.string(), publishedAt: z.string(), push: figures, email: figures })),
  medians: z.object({ push: medians, email: medians }),
});
const webhookId = path('id', 'The endpoint’s id', 'wh_0123456789abcdef');

export function integrationPaths(): Json {
  const tokenParam = path('token', 'The signed link token of one revision and reader', 'mwxl2punb42eda0d.1.2s.AbCdEfGhIjKlMn');
  const emailParam = path('email', 'The suppressed address', 'lecteur@exemple.fr');
  const nameParam = path('name', 'The CMS’s name in `CMS_HOOK_SECRETS`', 'wordpress');
  return {
    '/api/receipts': {
      post: op(
        R,
        'The service worker reports a notification shown (`received`) or clicked; counted once per revision and reader',
        AUTH.none,
        { '200': json('Counted, or already counted', obj, { counted: true }), '400': err('InvalidInput'), '429': err('TooMany') },
        { requestBody: body(fromZod(receiptBody), { receipt: 'mwxl2punb42eda0d.1.2s.AbCdEfGhIjKlMn', event: 'received' }) },
      ),
    },
    '/r/{token}': {
      get: op(
        R,
        'An email’s article link: counts one click, then redirects to the alert’s own URL',
        AUTH.none,
        { '302': { description: 'To the alert’s URL (never a destination named by the link)' }, '404': err('NotFound') },
        { parameters: [tokenParam] },
      ),
    },
    '/api/alerts/{id}/report': {
      get: op(
        A,
        'How fast the alert reached readers: timing, curve, receipts, clicks, per push service (`?rev=`, `?format=csv`)',
        AUTH.editor,
        { '200': json('The report', obj), '404': err('NotFound'), ...editorErrors },
        { parameters: [alertIdParam, { name: 'rev', in: 'query', schema: { type: 'integer', minimum: 1 } }] },
      ),
    },
    '/api/reports/recent': {
      get: op(
        A,
        'The newsroom’s last days: per alert (at most `limit`, newest kept), the share within the target, the time to 90 % and the CTR, with their medians',
        AUTH.editor,
        { '200': json('Oldest alert first', fromZod(recentReport)), '400': err('InvalidInput'), ...editorErrors },
        {
          parameters: [
            { name: 'days', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 90, default: 30 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 500 } },
          ],
        },
      ),
    },
    '/api/digest': {
      get: op(I, 'The daily digest: next run, readers, groups and the last run’s figures', AUTH.editor, {
        '200': json('The digest’s state', obj),
        ...editorErrors,
      }),
    },
    '/api/suppressions': {
      get: op(I, 'The suppression list, a page at a time (`?cursor=`, `?limit=`)', AUTH.editor, {
        '200': json('A page', obj, { suppressions: [], next: '0', total: 0 }),
        ...editorErrors,
      }),
      post: op(
        I,
        'Suppress an address by hand',
        AUTH.editor,
        { '201': json('Suppressed', obj), '400': err('InvalidInput'), ...editorErrors },
        { requestBody: body(fromZod(z.object({ email: emailSchema })), { email: 'lecteur@exemple.fr' }) },
      ),
    },
    '/api/suppressions/export': {
      get: op(I, 'The suppression list as CSV', AUTH.editor, {
        '200': { description: 'CSV `email,reason,at,by`', content: { 'text/csv': { schema: { type: 'string' } } } },
        ...editorErrors,
      }),
    },
    '/api/suppressions/{email}': {
      delete: op(
        I,
        'Release an address (it may be mailed again once its reader confirms)',
        AUTH.editor,
        { '204': noContent, '400': err('InvalidInput'), '404': err('NotFound'), ...editorErrors },
        { parameters: [emailParam] },
      ),
    },
    '/api/webhooks': {
      post: op(
        I,
        'Register an endpoint for events (chief); the answer holds its `whsec_` secret, shown only here',
        AUTH.editor,
        { '201': json('Registered', obj), '400': err('InvalidInput'), '409': err('Conflict'), ...editorErrors },
        {
          requestBody: body(fromZod(webhookCreateSchema), {
            url: 'https://outils.exemple.fr/depeche',
            events: ['alert.published', 'alert.delivered'],
          }),
        },
      ),
      get: op(I, 'The registered endpoints, never their secrets (chief)', AUTH.editor, {
        '200': json('The list', obj, { webhooks: [] }),
        ...editorErrors,
      }),
    },
    '/api/webhooks/{id}': {
      patch: op(
        I,
        'Change an endpoint, or re-enable a disabled one (chief)',
        AUTH.editor,
        { '200': json('Changed', obj), '400': err('InvalidInput'), '404': err('NotFound'), ...editorErrors },
        { parameters: [webhookId], requestBody: body(fromZod(webhookUpdateSchema), { enabled: true }) },
      ),
      delete: op(
        I,
        'Delete an endpoint (chief)',
        AUTH.editor,
        { '204': noContent, '404': err('NotFound'), ...editorErrors },
        { parameters: [webhookId] },
      ),
    },
    '/api/webhooks/{id}/deliveries': {
      get: op(
        I,
        'The endpoint’s last 50 delivery attempts, newest first (chief)',
        AUTH.editor,
        { '200': json('The log', obj, { deliveries: [] }), '404': err('NotFound'), ...editorErrors },
        { parameters: [webhookId] },
      ),
    },
    '/api/hooks/cms': {
      post: op(
        I,
        'A CMS publishes, updates or cancels the alert of a post (Standard Webhooks signature with a `CMS_HOOK_SECRETS` secret)',
        AUTH.none,
        {
          '200': json('Already seen, or cancelled', obj),
          '202': json('Published or updated', obj),
          '400': err('InvalidInput'),
          '401': signed('Not signed by a known CMS'),
          '404': err('NotFound'),
          '429': err('TooMany'),
        },
        {
          requestBody: body(fromZod(cmsHookSchema), {
            postId: '12345',
            revision: 1,
            title: 'Séisme au large de Nice',
            body: 'Magnitude 5,1.',
            url: 'https://www.exemple.fr/direct/12345',
          }),
        },
      ),
    },
    '/api/hooks/cms/{name}': {
      post: op(
        I,
        'The same, accepting only the named CMS’s secret',
        AUTH.none,
        {
          '200': json('Already seen, or cancelled', obj),
          '202': json('Published or updated', obj),
          '400': err('InvalidInput'),
          '401': signed('Not signed by that CMS'),
          '404': err('NotFound'),
        },
        { parameters: [nameParam], requestBody: body(fromZod(cmsHookSchema), { postId: '12345', action: 'cancel' }) },
      ),
    },
    '/api/hooks/email/mailgun': {
      post: op(I, 'Mailgun’s bounce and complaint events (HMAC signature, `MAILGUN_WEBHOOK_SIGNING_KEY`)', AUTH.none, {
        '200': json('Handled', obj),
        '400': err('InvalidInput'),
        '401': signed('Not signed by Mailgun'),
      }),
    },
    '/api/hooks/email/postmark': {
      post: op(I, 'Postmark’s bounce and spam-complaint webhooks (basic auth, `POSTMARK_WEBHOOK_AUTH`)', AUTH.none, {
        '200': json('Handled', obj),
        '400': err('InvalidInput'),
        '401': signed('Wrong credentials'),
      }),
    },
    '/api/hooks/email/sendgrid': {
      post: op(
        I,
        'SendGrid’s signed event webhook: bounce, deferred and spamreport events (ECDSA P-256 over timestamp + body, `SENDGRID_WEBHOOK_PUBLIC_KEY`)',
        AUTH.none,
        {
          '200': json('Handled: how many of the batch’s events were acted on', obj),
          '400': err('InvalidInput'),
          '401': signed('Not signed by SendGrid'),
        },
      ),
    },
  };
}
