// The push subscriptions in quarantine (editors): listed by push service and origin, never by
// endpoint, and restored one at a time.
import { AUTH, editorErrors, err, json, noContent, op, type Json } from './components';

const T = 'Abonnés';

export function pushPaths(): Json {
  return {
    '/api/push/quarantine': {
      get: op(T, 'Push subscriptions in quarantine: no longer sent to, restorable', AUTH.editor, {
        '200': json(
          'The first 1,000, and how many there are',
          {
            type: 'object',
            properties: {
              count: { type: 'integer' },
              subscribers: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, service: { type: 'string' }, origin: { type: 'string' } },
                },
              },
            },
          },
          { count: 1, subscribers: [{ id: '1842', service: 'apple', origin: 'https://web.push.apple.com' }] },
        ),
        ...editorErrors,
      }),
    },
    '/api/push/quarantine/{id}/restore': {
      post: op(
        T,
        'Send to a quarantined subscription again (its refusal count starts over)',
        AUTH.editor,
        { '204': noContent, '404': err('NotFound'), ...editorErrors },
        {
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]+$' }, description: 'The subscriber id' },
          ],
        },
      ),
    },
  };
}
