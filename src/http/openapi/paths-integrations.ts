// The routes that tie dépêche to other systems and report back, as OpenAPI paths: outbound
// webhooks (chiefs), the CMS hook and the email providers' event webhooks (signed, no editor
// token), the suppression list, the push signing keys, the delivery report, and the readers'
// receipts and email clicks.
import { z } from 'zod';
import { cmsHookSchema } from '../routes/cms-hook';
import { webhookCreateSchema, webhookUpdateSchema } from '../routes/webhooks';
import { EVENT_TYPES } from '../../pipeline/events';
import { DELIVERY_EVENTS } from '../../model';
import { AUTH, alertIdParam, body, editorErrors, err, fromZod, json, noContent, op, type Json } from './components';

const W = 'Intégrations';
const A = 'Alertes';
const R = 'Lecteurs';
const obj = (properties: Json): Json => ({ type: 'object', properties });
const csv = (description: string): Json => ({ description, content: { 'text/csv': { schema: { type: 'string' } } } });
const pathParam = (name: string, schema: Json, description: string): Json => ({ name, in: 'path', required: true, schema, description });
const webhookId = pathParam('id', { type: 'string', pattern: '^wh_[0-9a-f]{16}$' }, 'The endpoint’s id');
const webhook = obj({
  id: { type: 'string' },
  url: { type: 'string' },
  events: { type: 'array', items: { type: 'string', enum: [...EVENT_TYPES] } },
  includeAddresses: { type: 'boolean' },
  enabled: { type: 'boolean' },
  createdAt: { type: 'string' },
  createdBy: { type: 'string' },
  disabled: { type: 'string' },
  failingSince: { type: 'string' },
});
const webhookExample = { url: 'https://crm.example.fr/depeche', events: ['alert.delivered'] };
const suppression = obj({ email: { type: 'string' }, reason: { type: 'string' }, at: { type: 'string' }, by: { type: 'string' } });
/** A signed request from elsewhere (CMS, email provider): refused 401 when the signature is wrong. */
const signedErrors: Json = { '400': err('InvalidInput'), '401': err('Unauthorized'), '429': err('TooMany'), '503': err('Unavailable') };
const handled = json('Acted on, or acknowledged and ignored', obj({ handled: { type: 'boolean' } }), { handled: true });
const providerEvent = (summary: string, description: string, schema: Json, example: unknown): Json => ({
  post: op(W, summary, AUTH.none, { '200': handled, ...signedErrors }, { description, requestBody: body(schema, example) }),
});

export function integrationPaths(): Json {
  return {
    '/api/webhooks': {
      post: op(
        W,
        'Register a webhook endpoint (chief); its signing secret is shown once, here',
        AUTH.editor,
        { '201': json('Registered', webhook), '400': err('InvalidInput'), '415': err('Unsupported'), ...editorErrors },
        { requestBody: body(fromZod(webhookCreateSchema), webhookExample) },
      ),
      get: op(W, 'List the webhook endpoints (chief)', AUTH.editor, {
        '200': json('The endpoints', obj({ webhooks: { type: 'array', items: webhook } })),
        ...editorErrors,
      }),
    },
    '/api/webhooks/{id}': {
      patch: op(
        W,
        'Change a webhook endpoint (chief)',
        AUTH.editor,
        { '200': json('Changed', webhook), '400': err('InvalidInput'), '404': err('NotFound'), '415': err('Unsupported'), ...editorErrors },
        { parameters: [webhookId], requestBody: body(fromZod(webhookUpdateSchema), { enabled: false }) },
      ),
      delete: op(
        W,
        'Delete a webhook endpoint (chief)',
        AUTH.editor,
        { '204': noContent, '404': err('NotFound'), ...editorErrors },
        { parameters: [webhookId] },
      ),
    },
    '/api/webhooks/{id}/deliveries': {
      get: op(
        W,
        'What the endpoint’s last deliveries answered (chief)',
        AUTH.editor,
        {
          '200': json('Its last deliveries', obj({ deliveries: { type: 'array', items: { type: 'object' } } })),
          '404': err('NotFound'),
          ...editorErrors,
        },
        { parameters: [webhookId] },
      ),
    },
    ...cmsHook('/api/hooks/cms', []),
    ...cmsHook('/api/hooks/cms/{name}', [
      pathParam('name', { type: 'string' }, 'The CMS whose secret must have signed (CMS_HOOK_SECRETS)'),
    ]),
    '/api/hooks/email/mailgun': providerEvent(
      'Mailgun’s event webhook: bounces and complaints',
      'Signed with `MAILGUN_WEBHOOK_SIGNING_KEY` (HMAC-SHA256 of timestamp + token, at most 15 minutes old); a replay is acknowledged, not acted on.',
      { type: 'object', required: ['signature', 'event-data'] },
      {
        signature: { timestamp: '1767225600', token: 'a1b2c3', signature: '0f…' },
        'event-data': { event: 'failed', severity: 'permanent', recipient: 'lecteur@example.fr' },
      },
    ),
    '/api/hooks/email/postmark': providerEvent(
      'Postmark’s bounce and spam-complaint webhook',
      'Authenticated by the basic-auth `user:password` of its URL (`POSTMARK_WEBHOOK_AUTH`).',
      { type: 'object', required: ['RecordType', 'Email'] },
      { RecordType: 'Bounce', Type: 'HardBounce', Email: 'lecteur@example.fr' },
    ),
    '/api/suppressions': {
      get: op(
        W,
        'The suppression list, a page at a time',
        AUTH.editor,
        {
          '200': json(
            'A page',
            obj({ suppressions: { type: 'array', items: suppression }, next: { type: ['string', 'null'] }, total: { type: 'integer' } }),
          ),
          '400': err('InvalidInput'),
          ...editorErrors,
        },
        {
          parameters: [
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string', pattern: '^\\d{1,20}$' } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } },
          ],
        },
      ),
      post: op(
        W,
        'Suppress an address by hand: it is never mailed again',
        AUTH.editor,
        { '201': json('Suppressed', suppression), '400': err('InvalidInput'), '415': err('Unsupported'), ...editorErrors },
        { requestBody: body(obj({ email: { type: 'string', format: 'email' } }), { email: 'lecteur@example.fr' }) },
      ),
    },
    '/api/suppressions/export': {
      get: op(W, 'The whole suppression list as CSV (`email,reason,at,by`)', AUTH.editor, { '200': csv('The list'), ...editorErrors }),
    },
    '/api/suppressions/{email}': {
      delete: op(
        W,
        'Release an address: it may be mailed again once its owner subscribes again',
        AUTH.editor,
        { '204': noContent, '400': err('InvalidInput'), '404': err('NotFound'), ...editorErrors },
        { parameters: [pathParam('email', { type: 'string' }, 'The address')] },
      ),
    },
    '/api/push/keys': {
      get: op('Abonnés', 'The VAPID keys we sign with, and how many subscribers each has', AUTH.editor, {
        '200': json(
          'Current key first; an old key with no subscribers left can leave `VAPID_PREVIOUS_KEYS`',
          obj({
            keys: {
              type: 'array',
              items: obj({ fingerprint: { type: 'string' }, current: { type: 'boolean' }, subscribers: { type: 'integer' } }),
            },
          }),
        ),
        ...editorErrors,
      }),
    },
    '/api/alerts/{id}/report': {
      get: op(
        A,
        'The delivery report of a revision: timing, curve, receipts, clicks, per push service',
        AUTH.editor,
        {
          '200': {
            description: 'The report; as CSV (`channel,figure,ms,value`) with `format=csv`',
            content: { 'application/json': { schema: { type: 'object' } }, 'text/csv': { schema: { type: 'string' } } },
          },
          '400': err('InvalidInput'),
          '404': err('NotFound'),
          ...editorErrors,
        },
        {
          parameters: [
            alertIdParam,
            {
              name: 'rev',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1 },
              description: 'A revision (default: the latest)',
            },
            { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv'] } },
          ],
        },
      ),
    },
    '/api/receipts': {
      post: op(
        R,
        'The service worker reports a notification shown (`received`) or opened (`clicked`)',
        AUTH.none,
        {
          '200': json('Whether it counted (once per recipient and revision)', obj({ counted: { type: 'boolean' } }), { counted: true }),
          '400': err('InvalidInput'),
          '415': err('Unsupported'),
          '429': err('TooMany'),
          '503': err('Unavailable'),
        },
        {
          description: 'Also accepted as `text/plain` holding the same JSON (no CORS preflight).',
          requestBody: body(fromZod(z.object({ receipt: z.string().max(200), event: z.enum(DELIVERY_EVENTS) })), {
            receipt: 'r1.m3x9k2a7qpl0.1.42.abcdefgh',
            event: 'received',
          }),
        },
      ),
    },
    '/r/{token}': {
      get: op(
        R,
        'An email’s article link: counts the click, then goes to the alert’s URL',
        AUTH.none,
        { '302': { description: 'To the alert’s URL' }, '400': err('InvalidInput'), '404': err('NotFound') },
        { parameters: [pathParam('token', { type: 'string' }, 'The signed click token of the mail')] },
      ),
    },
  };
}

function cmsHook(path: string, parameters: Json[]): Json {
  return {
    [path]: {
      post: op(
        W,
        'The CMS publishes, updates or cancels an alert for one of its posts',
        AUTH.none,
        {
          '200': json('Nothing new to send, or cancelled', { type: 'object' }),
          '202': json('Published or updated', { type: 'object' }),
          '409': err('Conflict'),
          '415': err('Unsupported'),
          '422': err('Unprocessable'),
          ...signedErrors,
        },
        {
          description:
            'Signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with a `CMS_HOOK_SECRETS` secret; more than 5 minutes off our clock is refused.',
          parameters,
          requestBody: body(fromZod(cmsHookSchema), {
            postId: 'article-1234',
            revision: 1,
            title: 'Remaniement : le gouvernement annoncé',
            url: 'https://www.exemple.fr/politique/remaniement',
            topics: ['politique'],
          }),
        },
      ),
    },
  };
}
