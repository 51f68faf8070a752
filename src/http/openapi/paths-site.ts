// The rest of the site as OpenAPI paths: health, console sign-in, housekeeping, metrics, the
// pages and their files, and this description itself.
import { signInSchema } from '../session';
import { AUTH, body, editorErrors, err, fromZod, html, json, noContent, op, type Json } from './components';
import { examples } from './examples';

const C = 'Console';
const S = 'Site';
const sessionAnswer = { editor: { name: 'redaction', role: 'editor' }, csrf: 'k3J9…' };
const sessionSchema: Json = {
  type: 'object',
  properties: {
    editor: { type: 'object', properties: { name: { type: 'string' }, role: { type: 'string', enum: ['editor', 'chief'] } } },
    csrf: { type: 'string' },
  },
};
const page = (summary: string): Json => ({ get: op(S, summary, AUTH.none, { '200': html('The page') }) });

export function sitePaths(): Json {
  return {
    '/api/health': {
      get: op(S, 'Is Redis answering?', AUTH.none, {
        '200': json('Yes', { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } }, { status: 'ok' }),
        '503': json('No', { type: 'object' }, { status: 'unavailable', error: { code: 'unavailable', message: 'Redis does not answer' } }),
      }),
    },
    '/api/session': {
      post: op(
        C,
        'Sign in to the console with an editor token',
        AUTH.none,
        {
          '201': {
            ...json('Signed in; the `dp_session` cookie is set', sessionSchema, sessionAnswer),
            headers: { 'Set-Cookie': { schema: { type: 'string' } } },
          },
          '400': err('InvalidInput'),
          '401': json(
            'Wrong token',
            { $ref: '#/components/schemas/Error' },
            { error: { code: 'invalid_token', message: 'this editor token is not valid' } },
          ),
          '429': err('TooMany'),
        },
        { requestBody: body(fromZod(signInSchema), examples.signIn) },
      ),
      get: op(C, 'Who is signed in, and the CSRF token', AUTH.session, {
        '200': json('The session', sessionSchema, sessionAnswer),
        '401': err('Unauthorized'),
      }),
      delete: op(C, 'Sign out', [{ session: [], csrf: [] }], { '204': noContent, '403': err('Forbidden') }),
    },
    '/api/limits/subscribe/{ip}': {
      delete: op(
        C,
        'Lift the subscription rate limit of one address (chief)',
        AUTH.editor,
        { '204': noContent, '400': err('InvalidInput'), ...editorErrors },
        { parameters: [{ name: 'ip', in: 'path', required: true, schema: { type: 'string' }, example: '203.0.113.7' }] },
      ),
    },
    '/metrics': {
      get: op(S, 'Prometheus exposition', AUTH.none, {
        '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      }),
    },
    '/': { get: op(S, 'Redirects to the subscribe page', AUTH.none, { '302': { description: 'To `/alertes`' } }) },
    '/alertes': page('The subscribe page « Recevoir les alertes »'),
    '/sw.js': {
      get: op(S, 'The service worker (scope `/`)', AUTH.none, {
        '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
      }),
    },
    '/sw-core.js': {
      get: op(S, 'The service worker’s logic, imported by `/sw.js` (and by the one-line worker a news site hosts)', AUTH.none, {
        '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
      }),
    },
    '/embed.js': {
      get: op(S, 'The signup box a news site embeds on its article pages (README « On your site »); cached 5 minutes', AUTH.none, {
        '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
      }),
    },
    '/demo/article': {
      get: op(S, 'A made-up article with the box at its end; outside production only (`NODE_ENV` other than `production`)', AUTH.none, {
        '200': html('The page'),
        '404': err('NotFound'),
      }),
    },
    '/console': page('The editor’s console (signs in with `POST /api/session`)'),
    '/api/openapi.json': {
      get: op(S, 'This description (OpenAPI 3.1)', AUTH.none, { '200': json('The document', { type: 'object' }) }),
    },
    '/api/docs': page('This description, readable'),
    '/api/docs/ui/{file}': {
      get: op(
        S,
        'The reference viewer’s files (Swagger UI, from node_modules)',
        AUTH.none,
        { '200': { description: 'JavaScript or CSS' }, '404': err('NotFound') },
        {
          parameters: [
            { name: 'file', in: 'path', required: true, schema: { type: 'string', enum: ['swagger-ui-bundle.js', 'swagger-ui.css'] } },
          ],
        },
      ),
    },
  };
}
