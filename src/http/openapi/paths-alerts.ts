// The editor's alert routes (src/http/routes/alerts.ts, compose.ts, events.ts) as OpenAPI paths.
import { alertInputSchema, correctionInputSchema, draftSchema, updateInputSchema } from '../../schemas';
import { AUTH, alertIdParam, body, editorErrors, err, fromZod, json, op, ref, type Json } from './components';
import { examples } from './examples';

const E = 'Alertes';
const view = (description: string) => json(description, ref('AlertView'), examples.alertAnswer);
const withId = (more: Json = {}) => ({ parameters: [alertIdParam], ...more });
const query = (name: string, schema: Json, description: string): Json => ({ name, in: 'query', required: false, schema, description });

export function alertPaths(): Json {
  const publishBody = body(fromZod(alertInputSchema), examples.publish);
  return {
    '/api/alerts': {
      post: op(
        E,
        'Publish an alert',
        AUTH.editor,
        {
          '202': {
            ...view('The alert, as `GET /api/alerts/{id}` shows it'),
            headers: {
              Location: { schema: { type: 'string' } },
              'Idempotent-Replayed': {
                description: '`true` when this answers an earlier request with the same key',
                schema: { type: 'string' },
              },
            },
          },
          '400': err('InvalidInput'),
          '409': err('Conflict'),
          '413': err('TooLarge'),
          '415': err('Unsupported'),
          '422': err('Unprocessable'),
          ...editorErrors,
        },
        {
          description:
            'Sends to every subscriber of the topics (everyone when none). `Idempotency-Key`: the same key and body answer with the first alert; the same key with another body → 422 `idempotency_key_reused`. 422 `push_payload_too_large` when title, URL and topics leave no room in a push.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
              example: 'b7f4c1e2-0a9d-4a53-9d0e-5f7e2c3b1a60',
            },
          ],
          requestBody: publishBody,
        },
      ),
      get: op(
        E,
        'List alerts, newest activity first',
        AUTH.editor,
        {
          '200': json('A page of alerts', { type: 'object', properties: { alerts: { type: 'array', items: ref('AlertView') } } }),
          ...editorErrors,
        },
        {
          parameters: [
            query('limit', { type: 'integer', minimum: 1, maximum: 200, default: 50 }, 'How many'),
            query('before', { type: 'number' }, 'Only alerts whose activity is older than this time (ms)'),
          ],
        },
      ),
    },
    '/api/alerts/test': {
      post: op(
        E,
        'Send a test alert to `TEST_RECIPIENTS` only',
        AUTH.editor,
        { '202': view('The test alert, titles prefixed « [TEST] »'), '400': err('InvalidInput'), '409': err('Conflict'), ...editorErrors },
        { description: '409 `no_test_recipients` when the list has nobody for the channels asked.', requestBody: publishBody },
      ),
    },
    '/api/alerts/{id}': {
      get: op(
        E,
        'One alert, its status, figures and revisions',
        AUTH.editor,
        { '200': view('The alert'), '404': err('NotFound'), ...editorErrors },
        withId(),
      ),
    },
    '/api/alerts/{id}/updates': {
      post: op(
        E,
        'Publish an update (a new revision of the same story)',
        AUTH.editor,
        {
          '202': view('The alert with its new revision'),
          '400': err('InvalidInput'),
          '404': err('NotFound'),
          '409': err('Conflict'),
          ...editorErrors,
        },
        withId({ description: 'A title or a body (or both).', requestBody: body(fromZod(updateInputSchema), examples.update) }),
      ),
    },
    '/api/alerts/{id}/corrections': {
      post: op(
        E,
        'Publish a correction (« Rectificatif ») to the earlier revisions’ recipients',
        AUTH.editor,
        {
          '202': view('The alert with the correction'),
          '400': err('InvalidInput'),
          '404': err('NotFound'),
          '409': err('Conflict'),
          ...editorErrors,
        },
        withId({ requestBody: body(fromZod(correctionInputSchema), examples.correction) }),
      ),
    },
    '/api/alerts/{id}/cancel': {
      post: op(
        E,
        'Kill switch: stop sending',
        AUTH.editor,
        { '200': view('`status: "cancelled"` with its final counts'), '404': err('NotFound'), '409': err('Conflict'), ...editorErrors },
        withId({ description: '409 `not_cancellable` when already delivered or cancelled.' }),
      ),
    },
    '/api/alerts/{id}/resume': {
      post: op(
        E,
        'Continue a cancelled alert where it stopped',
        AUTH.editor,
        { '202': view('The alert, sending again'), '404': err('NotFound'), '409': err('Conflict'), ...editorErrors },
        withId({ description: '409 `not_cancelled` if it was not cancelled.' }),
      ),
    },
    '/api/alerts/{id}/approve': {
      post: op(
        E,
        'Approve an alert waiting for approval (chief)',
        AUTH.editor,
        { '202': view('The alert, now sending'), '404': err('NotFound'), '409': err('Conflict'), ...editorErrors },
        withId({ description: 'Chief only; 403 for an editor or the revision’s own author; 409 `not_awaiting_approval`.' }),
      ),
    },
    '/api/alerts/{id}/preview/email': {
      get: op(
        E,
        'The email as subscribers get it (sample links)',
        AUTH.editor,
        {
          '200': {
            description: 'HTML, text, or `{subject,html,text}`',
            content: {
              'text/html': { schema: { type: 'string' } },
              'text/plain': { schema: { type: 'string' } },
              'application/json': {
                schema: { type: 'object', properties: { subject: { type: 'string' }, html: { type: 'string' }, text: { type: 'string' } } },
              },
            },
          },
          '400': err('InvalidInput'),
          '404': err('NotFound'),
          ...editorErrors,
        },
        { parameters: [alertIdParam, query('format', { type: 'string', enum: ['html', 'text', 'json'], default: 'html' }, 'Which form')] },
      ),
    },
    '/api/audit': {
      get: op(
        E,
        'Editor actions, newest first',
        AUTH.editor,
        {
          '200': json(
            'Audit entries',
            { type: 'object', properties: { entries: { type: 'array', items: ref('AuditEntry') } } },
            examples.auditAnswer,
          ),
          '400': err('InvalidInput'),
          ...editorErrors,
        },
        {
          parameters: [
            query('limit', { type: 'integer', minimum: 1, maximum: 500, default: 100 }, 'How many'),
            query('before', { type: 'string', pattern: '^\\d{1,15}-\\d{1,10}$' }, 'Entries older than this entry id'),
            query('alert', { type: 'string', pattern: '^[a-z0-9]{8,40}$' }, 'Only this alert’s entries'),
          ],
        },
      ),
    },
    '/api/preview': {
      post: op(
        'Console',
        'Preview a draft: the push payload and its size, the email subject',
        AUTH.editor,
        {
          '200': json('The previews', {
            type: 'object',
            properties: {
              push: {
                type: 'object',
                properties: {
                  payload: {},
                  bytes: { type: 'integer' },
                  limit: { type: 'integer' },
                  truncated: { type: 'boolean' },
                  titleFits: { type: 'boolean' },
                },
              },
              email: { type: 'object', properties: { subject: { type: 'string' }, frame: { type: 'string' } } },
            },
          }),
          '400': err('InvalidInput'),
          ...editorErrors,
        },
        { requestBody: body(fromZod(draftSchema), examples.draft) },
      ),
    },
    '/api/preview/{id}/email': {
      get: op(
        'Console',
        'A draft’s email as the real templates render it (kept 10 min)',
        AUTH.editor,
        {
          '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
          '404': err('NotFound'),
          ...editorErrors,
        },
        { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' } }] },
      ),
    },
    '/api/audience': {
      get: op(
        'Console',
        'How many subscribers an alert on these topics would reach now',
        AUTH.editor,
        {
          '200': json(
            'Counts per channel',
            {
              type: 'object',
              properties: { topics: { type: 'array', items: { type: 'string' } }, push: { type: 'integer' }, email: { type: 'integer' } },
            },
            { topics: ['politique'], push: 1200, email: 300 },
          ),
          '400': err('InvalidInput'),
          ...editorErrors,
        },
        { parameters: [query('topics', { type: 'string', maxLength: 1000 }, 'Comma-separated topic slugs')] },
      ),
    },
    '/api/events': {
      get: op(E, 'Server-Sent Events: `event: alert` with the alert’s view whenever its figures change', AUTH.editor, {
        '200': {
          description:
            'A stream of `event: alert` / `data: <AlertView JSON>`; comments as heartbeats; `event: signed-out` when a console session ends',
          content: { 'text/event-stream': { schema: { type: 'string' } } },
        },
        ...editorErrors,
      }),
    },
  };
}
