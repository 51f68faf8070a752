// The OpenAPI document's shared parts: how callers authenticate, the error envelope, the answers
// every route may give, and the bridge from our zod schemas to JSON Schema 2020-12 (the dialect of
// OpenAPI 3.1), so the document describes exactly what the routes validate.
import { z } from 'zod';
import { CHANNELS, LANES, LANGUAGES, URGENCIES } from '../../model';

export type Json = Record<string, unknown>;

/** A zod schema as the JSON Schema of what a client sends (defaults make fields optional). */
export function fromZod(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return rest;
}

/** Who may call a route, as OpenAPI security requirements. */
export const AUTH = {
  none: [] as Json[],
  /** An editor: Bearer token, or the console's session cookie with its CSRF header on writes. */
  editor: [{ bearer: [] }, { session: [], csrf: [] }] as Json[],
  /** The signed token of a link mailed to a subscriber, in `?token=`. */
  link: [{ linkToken: [] }] as Json[],
  /** Only the console's session (who is signed in, sign out). */
  session: [{ session: [] }] as Json[],
};

export const securitySchemes: Json = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An editor secret from `EDITOR_TOKENS` (`name:secret[:role]`); role `editor` or `chief`.',
  },
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: 'dp_session',
    description: 'The console session cookie set by `POST /api/session` (httpOnly, SameSite=Strict, signed).',
  },
  csrf: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description: 'The session’s CSRF token (the `csrf` of `POST /api/session`), required with the cookie on POST/PUT/PATCH/DELETE.',
  },
  linkToken: {
    type: 'apiKey',
    in: 'query',
    name: 'token',
    description: 'The signed token of a link mailed to the subscriber (confirm, unsubscribe, preferences).',
  },
};

const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'A stable machine-readable name', examples: ['invalid_input', 'unknown_topic'] }),
      message: z.string().meta({ description: 'One sentence for people, naming the field' }),
      details: z.unknown().optional(),
    }),
  })
  .meta({ description: 'Every refusal: `{"error":{"code","message","details"?}}`' });

const serviceFigures = z.object({
  sent: z.number(),
  failed: z.number(),
  expired: z.number(),
  errors: z.record(z.string(), z.number()).meta({ description: 'Refusals by "<status> <reason>" ("403 BadJwtToken")' }),
  quarantined: z.number().optional().meta({ description: 'Subscriptions this revision put in quarantine (absent: none)' }),
});
const delivery = z.object({
  push: z.object({
    targeted: z.number(),
    sent: z.number(),
    failed: z.number(),
    expired: z.number(),
    clicked: z.number().optional(),
    byService: z.record(z.string(), serviceFigures).meta({ description: 'Per push service: fcm, mozilla, apple, wns, other' }),
    alarm: z
      .array(z.object({ service: z.string(), refused: z.number(), recipients: z.number(), message: z.string() }))
      .optional()
      .meta({ description: 'Services where over a fifth of the recipients refused us with 401/403' }),
  }),
  email: z.object({ targeted: z.number(), sent: z.number(), failed: z.number(), bounced: z.number(), complained: z.number() }),
});
const status = z.enum(['awaiting_approval', 'scheduled', 'queued', 'sending', 'held', 'delivered', 'cancelled', 'superseded']);
const lane = z.enum(LANES).meta({
  description:
    "Delivery lane, chosen at publish: `flash` (flashes, tests, and `urgency: high` alerts reaching at most PRIORITY_MAX_AUDIENCE readers) goes ahead of the `normal` lane's queued batches",
});
const revision = z.looseObject({
  rev: z.number().int(),
  kind: z.enum(['original', 'update', 'correction', 'test']),
  title: z.string(),
  body: z.string(),
  texts: z
    .partialRecord(z.enum(LANGUAGES), z.object({ title: z.string(), body: z.string(), url: z.string().optional() }))
    .optional()
    .meta({ description: "The revision's texts in other languages than the default one (EMAIL_LANGUAGE), as given" }),
  lane,
  status,
  delivery,
  pending: z.object({ push: z.number(), email: z.number() }),
});

/** What `GET /api/alerts/:id` shows; several writes answer with it too. */
const alertView = revision.extend({
  id: z.string().meta({ examples: ['m3x9k2a7qpl0'] }),
  url: z.string().optional(),
  story: z.string().optional(),
  image: z.string().optional().meta({ description: "The push notification's picture (https URL), shown where supported" }),
  topics: z.array(z.string()),
  urgency: z.enum(URGENCIES),
  channels: z.array(z.enum(CHANNELS)),
  flash: z.boolean(),
  createdAt: z.string(),
  createdBy: z.string(),
  heldUntil: z.string().optional(),
  approval: z.unknown().optional(),
  revisions: z.array(revision),
});

const importSummary = z.object({
  imported: z.number().int(),
  updated: z.number().int(),
  rejected: z.number().int(),
  errors: z.array(z.object({ line: z.number().int(), reason: z.string() })).meta({ description: 'The first 1,000 rejected lines' }),
});

const auditEntry = z.looseObject({
  id: z.string(),
  at: z.string(),
  action: z.string(),
  editor: z.string(),
  role: z.enum(['editor', 'chief']),
  alertId: z.string().optional(),
  rev: z.number().optional(),
  details: z.unknown().optional(),
});

export const schemas: Json = {
  Error: fromZod(errorSchema),
  AlertView: fromZod(alertView),
  ImportSummary: fromZod(importSummary),
  AuditEntry: fromZod(auditEntry),
  Topic: fromZod(z.object({ slug: z.string(), label: z.string(), declared: z.boolean() })),
};

export const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

/** A JSON answer with its schema and one example. */
export function json(description: string, schema: Json, example?: unknown): Json {
  return { description, content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } } };
}

const problem = (description: string, code: string, message: string): Json => json(description, ref('Error'), { error: { code, message } });

/** The refusals shared by many routes, referenced as `#/components/responses/<name>`. */
export const responses: Json = {
  InvalidInput: problem('Invalid input; the message names the field', 'invalid_input', 'title: title is required'),
  Unauthorized: problem('No or wrong editor token, or no console session', 'unauthorized', 'a valid editor token is required'),
  Forbidden: problem(
    'Wrong role (`forbidden`), or a console write without its CSRF header (`csrf_failed`)',
    'forbidden',
    'this action needs a chief token',
  ),
  NotFound: problem('Nothing by that name', 'not_found', 'alert not found'),
  Conflict: problem('Does not fit the current state', 'not_cancellable', 'this alert is already delivered'),
  Gone: problem('The link expired or no longer applies', 'token_expired', 'this link has expired'),
  TooLarge: problem('The body is larger than `BODY_LIMIT`', 'body_too_large', 'request body is too large'),
  Unsupported: problem('Wrong Content-Type', 'unsupported_media_type', 'Content-Type must be application/json'),
  Unprocessable: problem('Well-formed but unusable', 'push_payload_too_large', 'the title leaves no room in a push'),
  TooMany: {
    ...problem(
      'Too many requests from this address, or too many failed sign-ins',
      'too_many_requests',
      'too many requests, try again later',
    ),
    headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } },
  },
  Unavailable: problem(
    'Redis does not answer, or a capped set is full',
    'unavailable',
    'the alert store is unavailable, try again shortly',
  ),
};

export const err = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

/** The errors every editor route may give, besides its own. */
export const editorErrors: Json = { '401': err('Unauthorized'), '403': err('Forbidden'), '429': err('TooMany'), '503': err('Unavailable') };

/** A JSON request body. */
export function body(schema: Json, example: unknown, required = true): Json {
  return { required, content: { 'application/json': { schema, example } } };
}

export const alertIdParam: Json = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9]{8,40}$' },
  description: 'The alert’s id (`Location` of `POST /api/alerts`)',
};

/** One operation: a tag, a summary, who may call it, and its answers. */
export function op(tag: string, summary: string, security: Json[], answers: Json, more: Json = {}): Json {
  return { tags: [tag], summary, security, ...more, responses: answers };
}

export const noContent: Json = { description: 'Done, nothing to say' };
export const html = (description: string): Json => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
