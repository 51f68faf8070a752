// Outbound webhooks, managed by chiefs: register an endpoint and the events it wants (its signing
// secret is shown once, in the answer to the registration), list, change, delete, and read what
// its last deliveries answered. The target is checked before anything is stored: https, and a
// public address once resolved (webhook-target.ts), unless WEBHOOK_ALLOW_PRIVATE is set.
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { editorOf, editorRoutes } from '../auth';
import { notFound, requireJson } from '../errors';
import { EVENT_TYPES } from '../../pipeline/events';
import { resolveTarget } from '../../pipeline/webhook-target';
import type { WebhookEndpoint } from '../../store/webhooks';

const urlSchema = z.string().trim().min(1, 'url is required').max(2048, 'url is at most 2048 characters');
const eventsSchema = z
  .array(z.enum(EVENT_TYPES, { error: `events are among ${EVENT_TYPES.join(', ')}` }))
  .min(1, 'at least one event')
  .transform((e) => [...new Set(e)]);
/** Exported for the API description (OpenAPI). */
export const webhookCreateSchema = z
  .object({ url: urlSchema, events: eventsSchema, includeAddresses: z.boolean().default(false) })
  .strict();
export const webhookUpdateSchema = z
  .object({
    url: urlSchema.optional(),
    events: eventsSchema.optional(),
    includeAddresses: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((u) => Object.keys(u).length > 0, { error: 'nothing to change', path: ['body'] });
const ID = /^wh_[0-9a-f]{16}$/;

/** What the API shows of an endpoint: never its secret. */
const shown = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  events: e.events,
  includeAddresses: e.includeAddresses,
  enabled: e.enabled,
  createdAt: e.createdAt,
  createdBy: e.createdBy,
  ...(e.disabled ? { disabled: e.disabled } : {}),
  ...(e.failingSince ? { failingSince: new Date(e.failingSince).toISOString() } : {}),
});

export function webhookRoutes(d: Domain): Router {
  const r = Router();
  const chief = editorRoutes(r, d.secrets.editors, 'chief');
  const allowPrivate = d.config.webhooks.allowPrivate;
  const idOf = (raw: unknown) => {
    if (typeof raw !== 'string' || !ID.test(raw)) throw notFound('webhook');
    return raw;
  };

  chief.post('/api/webhooks', requireJson, async (req, res) => {
    const input = webhookCreateSchema.parse(req.body ?? {});
    const target = await resolveTarget(input.url, allowPrivate);
    const actor = editorOf(res.locals);
    const { endpoint, secret } = await d.webhooks.create({ ...input, url: target.url.href }, actor.name);
    await d.audit.record({
      action: 'webhook-create',
      editor: actor.name,
      role: actor.role,
      details: { id: endpoint.id, host: target.url.host, events: endpoint.events },
    });
    res.status(201).json({ ...shown(endpoint), secret });
  });

  chief.get('/api/webhooks', async (_req, res) => {
    res.json({ webhooks: (await d.webhooks.list()).map(shown) });
  });

  chief.patch('/api/webhooks/:id', requireJson, async (req, res) => {
    const id = idOf(req.params.id);
    const changes = webhookUpdateSchema.parse(req.body ?? {});
    if (changes.url !== undefined) changes.url = (await resolveTarget(changes.url, allowPrivate)).url.href;
    const actor = editorOf(res.locals);
    const endpoint = await d.webhooks.update(id, changes);
    await d.audit.record({
      action: 'webhook-update',
      editor: actor.name,
      role: actor.role,
      details: { id, changed: Object.keys(changes), enabled: endpoint.enabled },
    });
    res.json(shown(endpoint));
  });

  chief.delete('/api/webhooks/:id', async (req, res) => {
    const id = idOf(req.params.id);
    const actor = editorOf(res.locals);
    await d.webhooks.remove(id);
    await d.audit.record({ action: 'webhook-delete', editor: actor.name, role: actor.role, details: { id } });
    res.status(204).end();
  });

  chief.get('/api/webhooks/:id/deliveries', async (req, res) => {
    const id = idOf(req.params.id);
    if (!(await d.webhooks.get(id))) throw notFound('webhook');
    res.json({ deliveries: await d.webhooks.deliveries(id) });
  });

  return r;
}
