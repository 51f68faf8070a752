// The suppression list, for editors: list it (paged), export it (CSV), add an address by hand and
// release one. Releasing only lets the address be mailed again: a reader who complained or
// bounced is still unsubscribed or bounced, and comes back through a fresh confirmation of their
// own. The audit log names the action, never the address (no subscriber data in the log).
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { emailSchema } from '../../schemas';
import { editorOf, editorRoutes } from '../auth';
import { notFound, requireJson } from '../errors';

const addSchema = z.object({ email: emailSchema }).strict();
const pageSchema = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,20}$/, 'cursor must be the `next` of the previous page')
    .default('0'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const csvField = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function suppressionRoutes(d: Domain): Router {
  const r = Router();
  const e = editorRoutes(r, d.secrets.editors);

  e.get('/api/suppressions', async (req, res) => {
    const { cursor, limit } = pageSchema.parse(req.query);
    const [{ entries, next }, total] = await Promise.all([d.suppressions.page(cursor, limit), d.suppressions.count()]);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ suppressions: entries, next: next === '0' ? null : next, total });
  });

  e.get('/api/suppressions/export', async (_req, res) => {
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="suppressions.csv"');
    res.setHeader('Cache-Control', 'no-store');
    res.write('email,reason,at,by\r\n');
    // Page by page, so a long list never sits whole in memory.
    let cursor = '0';
    do {
      const page = await d.suppressions.page(cursor, 500);
      for (const s of page.entries) res.write(`${[s.email, s.reason, s.at, s.by].map(csvField).join(',')}\r\n`);
      cursor = page.next;
    } while (cursor !== '0');
    res.end();
  });

  e.post('/api/suppressions', requireJson, async (req, res) => {
    const { email } = addSchema.parse(req.body ?? {});
    const actor = editorOf(res.locals);
    const entry = await d.suppressions.add(email, 'manual', actor.name);
    await d.audit.record({ action: 'suppression-add', editor: actor.name, role: actor.role });
    res.status(201).json(entry);
  });

  e.delete('/api/suppressions/:email', async (req, res) => {
    const { email } = addSchema.parse({ email: req.params.email });
    const actor = editorOf(res.locals);
    if (!(await d.suppressions.release(email))) throw notFound('suppression');
    await d.audit.record({ action: 'suppression-release', editor: actor.name, role: actor.role });
    res.status(204).end();
  });

  return r;
}
