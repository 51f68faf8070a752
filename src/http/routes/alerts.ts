// Hop 1: the editor's routes. Validation happens here; publishing and the newsroom workflow
// (updates, corrections, cancel, resume, approval, tests) are the domain's job.
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import type { Queues } from '../../pipeline/queues';
import { alertInputSchema, correctionInputSchema, updateInputSchema } from '../../schemas';
import { publishAlert, publishCorrection, publishTest, publishUpdate } from '../../pipeline/publish';
import { approveAlert, cancelAlert, resumeAlert } from '../../pipeline/control';
import { badRequest, notFound, requireJson } from '../errors';
import { editorOf, editorRoutes } from '../auth';
import { previewEmail, sendPreviewHtml } from '../email-preview';
import { reportCsv } from '../../store/delivery-report';

const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), before: z.coerce.number().optional() });
const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z
    .string()
    .regex(/^\d{1,15}-\d{1,10}$/, 'before must be an audit entry id')
    .optional(),
  alert: z
    .string()
    .regex(/^[a-z0-9]{8,40}$/, 'alert must be an alert id')
    .optional(),
});
const idParam = z.string().regex(/^[a-z0-9]{8,40}$/);
const previewQuery = z.object({ format: z.enum(['html', 'text', 'json']).default('html') });
const reportQuery = z.object({
  rev: z.coerce.number().int().min(1).max(1_000_000).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

/** The Idempotency-Key header, bare or as a structured-field string ("…"). */
function idempotencyKey(req: Request): string | undefined {
  const raw = req.get('idempotency-key');
  if (raw === undefined) return undefined;
  const key = raw.trim().replace(/^"(.*)"$/, '$1');
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw badRequest('Idempotency-Key: must be 1 to 255 visible ASCII characters');
  return key;
}

export function alertRoutes(d: Domain, queues: Queues): Router {
  const r = Router();
  const newsroom = { ...d, queues };
  const e = editorRoutes(r, d.secrets.editors);

  const alertId = (req: Request): string => {
    const id = idParam.safeParse(req.params.id);
    if (!id.success) throw notFound('alert');
    return id.data;
  };
  const viewOf = async (id: string) => {
    const view = await d.alerts.view(id);
    if (!view) throw notFound('alert');
    return view;
  };

  e.post('/api/alerts', requireJson, async (req, res) => {
    const key = idempotencyKey(req);
    const input = alertInputSchema.parse(req.body ?? {});
    const { alert, replayed } = await publishAlert(newsroom, input, editorOf(res.locals), key);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    else d.metrics.alertPublished(alert.urgency);
    res
      .status(202)
      .location(`/api/alerts/${alert.id}`)
      .json(await viewOf(alert.id));
  });

  e.post('/api/alerts/test', requireJson, async (req, res) => {
    const input = alertInputSchema.parse(req.body ?? {});
    const alert = await publishTest(newsroom, input, editorOf(res.locals));
    res
      .status(202)
      .location(`/api/alerts/${alert.id}`)
      .json(await viewOf(alert.id));
  });

  e.get('/api/alerts', async (req, res) => {
    const q = listQuery.parse(req.query);
    res.json({ alerts: await d.alerts.list(q.limit, q.before) });
  });

  e.get('/api/alerts/:id', async (req, res) => {
    res.json(await viewOf(alertId(req)));
  });

  // The email exactly as subscribers get it, with sample links instead of a reader's own.
  e.get('/api/alerts/:id/preview/email', async (req, res) => {
    const alert = await d.alerts.get(alertId(req));
    if (!alert) throw notFound('alert');
    const { format } = previewQuery.parse(req.query);
    const { subject, html, text } = previewEmail(d, alert);
    res.set('Cache-Control', 'no-store');
    if (format === 'json') {
      res.json({ subject, html, text });
      return;
    }
    if (format === 'text') {
      res.type('text/plain; charset=utf-8').send(text);
      return;
    }
    sendPreviewHtml(res, html);
  });

  // How fast the revision reached readers, who saw it, who read it (store/delivery-report.ts).
  e.get('/api/alerts/:id/report', async (req, res) => {
    const id = alertId(req);
    const q = reportQuery.parse(req.query);
    const alert = q.rev === undefined ? await d.alerts.get(id) : await d.alerts.getRev(id, q.rev);
    if (!alert) throw notFound(q.rev === undefined ? 'alert' : 'revision');
    const report = await d.reports.read(id, alert.rev);
    res.set('Cache-Control', 'no-store');
    if (q.format === 'csv') {
      res.attachment(`remise-${id}-r${alert.rev}.csv`).type('text/csv; charset=utf-8').send(reportCsv(report));
      return;
    }
    res.json(report);
  });

  e.post('/api/alerts/:id/updates', requireJson, async (req, res) => {
    const id = alertId(req);
    const input = updateInputSchema.parse(req.body ?? {});
    await publishUpdate(newsroom, id, input, editorOf(res.locals));
    res.status(202).json(await viewOf(id));
  });

  e.post('/api/alerts/:id/corrections', requireJson, async (req, res) => {
    const id = alertId(req);
    const input = correctionInputSchema.parse(req.body ?? {});
    await publishCorrection(newsroom, id, input, editorOf(res.locals));
    res.status(202).json(await viewOf(id));
  });

  e.post('/api/alerts/:id/cancel', requireJson, async (req, res) => {
    const id = alertId(req);
    await cancelAlert(newsroom, id, editorOf(res.locals));
    res.json(await viewOf(id));
  });

  e.post('/api/alerts/:id/resume', requireJson, async (req, res) => {
    const id = alertId(req);
    await resumeAlert(newsroom, id, editorOf(res.locals));
    res.status(202).json(await viewOf(id));
  });

  e.post('/api/alerts/:id/approve', requireJson, async (req, res) => {
    const id = alertId(req);
    await approveAlert(newsroom, id, editorOf(res.locals));
    res.status(202).json(await viewOf(id));
  });

  e.get('/api/audit', async (req, res) => {
    const q = auditQuery.parse(req.query);
    res.json({
      entries: await d.audit.list({ limit: q.limit, ...(q.before ? { before: q.before } : {}), ...(q.alert ? { alertId: q.alert } : {}) }),
    });
  });

  return r;
}
