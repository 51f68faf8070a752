// What readers and their pages call (subscriptions, mailed links, topics, clicks) and the
// editor's bulk transfer, as OpenAPI paths. The subscription schemas depend on the newsroom's
// settings (allowed push services, offered quiet windows), so they are built from them.
import { emailSubscribeSchema, pushSubscriptionSchema, unsubscribePushSchema } from '../../schemas';
import type { OriginRule } from '../../push/allowlist';
import type { DailyWindow } from '../../quiet-hours';
import type { DigestTimes } from '../../digest-clock';
import { AUTH, alertIdParam, body, editorErrors, err, fromZod, html, json, noContent, op, ref, type Json } from './components';
import { examples } from './examples';
import { topicCreateSchema, topicRenameSchema } from '../routes/topics';

const R = 'Lecteurs';
const publicErrors: Json = { '429': err('TooMany'), '503': err('Unavailable') };
const tokenParam: Json = {
  name: 'token',
  in: 'query',
  required: true,
  schema: { type: 'string' },
  description: 'The signed token of the mailed link',
};
const form = (properties: Json): Json => ({
  required: false,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties } } },
});

/** A mailed link: GET shows a page with a button, POST does it (JSON for programs, a page for people). */
function linkPair(summary: string, done: string): Json {
  return {
    get: op(
      R,
      `${summary}: the page with its button`,
      AUTH.link,
      { '200': html('The page'), '404': err('NotFound'), '410': err('Gone') },
      { parameters: [tokenParam] },
    ),
    post: op(
      R,
      summary,
      AUTH.link,
      {
        '200': json(
          'Done (a page when the client accepts HTML)',
          { type: 'object', properties: { status: { type: 'string', enum: [done] } } },
          { status: done },
        ),
        '404': err('NotFound'),
        '410': err('Gone'),
      },
      { parameters: [tokenParam], requestBody: form({}) },
    ),
  };
}

export function publicPaths(allowlist: readonly OriginRule[], quietWindows: readonly DailyWindow[], digestTimes: DigestTimes): Json {
  return {
    '/api/push/public-key': {
      get: op(R, 'The VAPID public key (base64url) for `pushManager.subscribe`', AUTH.none, {
        '200': json(
          'The key',
          { type: 'object', properties: { publicKey: { type: 'string' } } },
          { publicKey: 'BEl62iUYgUivxIkv69yViEuiBIa…' },
        ),
      }),
    },
    '/api/subscriptions/push': {
      post: op(
        R,
        'Subscribe a browser to push alerts (same endpoint again updates it)',
        AUTH.none,
        {
          '201': json(
            'Subscribed; `replaced` when `replaces` named a subscription we held',
            { type: 'object', properties: { id: { type: 'string' }, replaced: { type: 'boolean' } } },
            { id: '1842' },
          ),
          '400': err('InvalidInput'),
          '403': json('`replaces.auth` is not the named subscription’s: nothing changed', ref('Error'), {
            error: { code: 'replacement_refused', message: 'replaces.auth does not match the subscription it names: nothing was changed' },
          }),
          '413': err('TooLarge'),
          '415': err('Unsupported'),
          ...publicErrors,
        },
        {
          description:
            'Codes a page may act on: `unknown_topic` (with `details.topic`), `invalid_time_zone`, `invalid_quiet_window`; 503 `quiet_groups_full`. With `replaces` (a service worker that re-subscribed), the old subscription is removed and its topics and quiet hours carried over, in one call.',
          requestBody: body(fromZod(pushSubscriptionSchema(allowlist, quietWindows)), examples.pushSubscribe),
        },
      ),
      delete: op(
        R,
        'Unsubscribe a browser',
        AUTH.none,
        { '204': noContent, '400': err('InvalidInput'), '415': err('Unsupported'), ...publicErrors },
        { requestBody: body(fromZod(unsubscribePushSchema), examples.pushUnsubscribe) },
      ),
    },
    '/api/subscriptions/push/import': {
      post: op(
        'Abonnés',
        'Import push subscribers as NDJSON, streamed',
        AUTH.editor,
        {
          '200': json('What happened to the lines', ref('ImportSummary'), examples.importAnswer),
          '415': err('Unsupported'),
          ...editorErrors,
        },
        {
          description:
            'One `{"subscription":{…},"topics"?:[…]}` per line, each validated as a single subscribe; a known endpoint is updated.',
          requestBody: {
            required: true,
            content: { 'application/x-ndjson': { schema: { type: 'string' }, example: examples.importLine } },
          },
        },
      ),
    },
    '/api/subscriptions/push/export': {
      get: op('Abonnés', 'Every push subscriber as NDJSON, in the import’s format, streamed', AUTH.editor, {
        '200': { description: 'NDJSON', content: { 'application/x-ndjson': { schema: { type: 'string' }, example: examples.importLine } } },
        ...editorErrors,
      }),
    },
    '/api/push/keys': {
      get: op('Abonnés', 'The VAPID keys we sign with, current first, and how many subscribers each has', AUTH.editor, {
        '200': json(
          'An old key with no subscribers left can leave `VAPID_PREVIOUS_KEYS`',
          {
            type: 'object',
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { fingerprint: { type: 'string' }, current: { type: 'boolean' }, subscribers: { type: 'integer' } },
                },
              },
              quarantined: { type: 'integer', description: 'Subscriptions in quarantine (`GET /api/push/quarantine`)' },
            },
          },
          { keys: [{ fingerprint: '3f9a1c0b7d2e4a61', current: true, subscribers: 1200 }], quarantined: 0 },
        ),
        ...editorErrors,
      }),
    },
    '/api/subscriptions/email': {
      post: op(
        R,
        'Subscribe an address; a confirmation email follows',
        AUTH.none,
        {
          '202': json(
            'Waiting for the confirmation',
            { type: 'object', properties: { status: { type: 'string' }, message: { type: 'string' } } },
            { status: 'pending', message: 'check your inbox to confirm' },
          ),
          '400': err('InvalidInput'),
          '415': err('Unsupported'),
          ...publicErrors,
        },
        {
          description: 'At most one confirmation mail per address per `CONFIRM_RESEND_INTERVAL`, however often it is asked.',
          requestBody: body(fromZod(emailSubscribeSchema(quietWindows, digestTimes)), examples.emailSubscribe),
        },
      ),
    },
    '/api/subscriptions/email/confirm': linkPair('Confirm an email subscription', 'confirmed'),
    '/api/subscriptions/email/unsubscribe': linkPair('Unsubscribe (RFC 8058 one-click)', 'unsubscribed'),
    '/api/subscriptions/email/preferences': {
      get: op(R, 'The preference page', AUTH.link, { '200': html('The page'), '404': err('NotFound') }, { parameters: [tokenParam] }),
      post: op(
        R,
        'Change topics or quiet hours, unsubscribe, come back, or erase everything',
        AUTH.link,
        {
          '200': html('The page again, with what changed'),
          '303': { description: 'Back to the page' },
          '400': err('InvalidInput'),
          '404': err('NotFound'),
        },
        {
          parameters: [tokenParam],
          requestBody: form({
            action: { type: 'string', enum: ['topics', 'quiet', 'unsubscribe', 'resubscribe', 'delete'] },
            topics: { type: 'array', items: { type: 'string' } },
            quietHours: { type: 'string', example: '22:00-08:00' },
            confirm: { type: 'string', enum: ['yes'] },
          }),
        },
      ),
    },
    '/api/subscriptions/email/preferences/data': {
      get: op(
        R,
        'The subscriber’s data as a JSON download',
        AUTH.link,
        { '200': json('The record', { type: 'object' }), '404': err('NotFound') },
        { parameters: [tokenParam] },
      ),
    },
    '/api/alerts/{id}/click': {
      post: op(
        R,
        'The service worker reports a notification click',
        AUTH.none,
        { '204': noContent, '404': err('NotFound'), ...publicErrors },
        {
          parameters: [alertIdParam],
        },
      ),
    },
    '/api/topics': {
      get: op('Rubriques', 'The newsroom’s active topics, the only ones readers may choose', AUTH.none, {
        '200': json('Topics', { type: 'object', properties: { topics: { type: 'array', items: ref('Topic') } } }, examples.topicsAnswer),
      }),
      post: op(
        'Rubriques',
        'Create a topic',
        AUTH.editor,
        {
          '201': json('Created', ref('Topic'), { ...examples.topicCreate, declared: false }),
          '400': err('InvalidInput'),
          '409': err('Conflict'),
          ...editorErrors,
        },
        {
          description: '409 `topic_exists`, 409 `too_many_topics` past `MAX_TOPICS`.',
          requestBody: body(fromZod(topicCreateSchema), examples.topicCreate),
        },
      ),
    },
    '/api/topics/{slug}': {
      patch: op(
        'Rubriques',
        'Rename a topic',
        AUTH.editor,
        {
          '200': json('Renamed', ref('Topic')),
          '400': err('InvalidInput'),
          '404': err('NotFound'),
          '409': err('Conflict'),
          ...editorErrors,
        },
        {
          parameters: [slugParam],
          description: '409 `declared_topic` for a `PAGE_TOPICS` topic.',
          requestBody: body(fromZod(topicRenameSchema), examples.topicRename),
        },
      ),
      delete: op(
        'Rubriques',
        'Retire a topic (chief): its followers lose it and its bitmaps are deleted',
        AUTH.editor,
        { '204': noContent, '400': err('InvalidInput'), '404': err('NotFound'), ...editorErrors },
        { parameters: [slugParam] },
      ),
    },
  };
}

const slugParam: Json = { name: 'slug', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,39}$' } };
