// Hop 1: the editor's routes. Validation happens here; publishing is the domain's job.
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import type { Queues } from '../../queues';
import { alertInputSchema } from '../../schemas';
import { publishAlert } from '../../publish';
import { notFound } from '../../errors';
import { editorOf, requireEditor } from '../auth';
import { requireJson } from '../errors';
import { previewEmail, sendPreviewHtml } from '../email-preview';

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), before: z.coerce.number().optional() });
const idParam = z.string().regex(/^[a-z0-9]{8,40}$/);
const previewQuery = z.object({ format: z.enum(['html', 'text', 'json']).default('html') });

export function alertRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  r.use('/api/alerts', requireEditor(d.secrets.editors));

  r.post('/api/alerts', requireJson, async (req, res) => {
    const input = alertInputSchema.parse(req.body ?? {});
    const alert = await publishAlert({ alerts: d.alerts, queues }, input, editorOf(res.locals).name);
    d.metrics.alertPublished(alert.urgency);
    res.status(202).location(`/api/alerts/${alert.id}`).json({ ...alert, status: 'queued' });
  });

  r.get('/api/alerts', async (req, res) => {
    const q = listQuery.parse(req.query);
    res.json({ alerts: await d.alerts.list(q.limit, q.before) });
  });

  r.get('/api/alerts/:id', async (req, res) => {
    const id = idParam.safeParse(req.params.id);
    const view = id.success ? await d.alerts.view(id.data) : null;
    if (!view) throw notFound('alert');
    res.json(view);
  });

  // The email exactly as subscribers get it, with sample links instead of a reader's own.
  r.get('/api/alerts/:id/preview/email', async (req, res) => {
    const id = idParam.safeParse(req.params.id);
    const alert = id.success ? await d.alerts.get(id.data) : null;
    if (!alert) throw notFound('alert');
    const { format } = previewQuery.parse(req.query);
    const { subject, html, text } = previewEmail(d, alert);
    res.set('Cache-Control', 'no-store');
    if (format === 'json') { res.json({ subject, html, text }); return; }
    if (format === 'text') { res.type('text/plain; charset=utf-8').send(text); return; }
    sendPreviewHtml(res, html);
  });

  return r;
}
