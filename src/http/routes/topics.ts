// The newsroom's topics: anyone may list the active ones (a site's own subscribe form needs the
// slugs and labels); editors create them and change their labels; only a chief retires one,
// because retiring cannot be undone: every reader following it loses it and its bitmaps go.
// Every change is in the audit log.
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { topicSchema } from '../../schemas';
import { editorOf, editorRoutes } from '../auth';
import { requireJson } from '../errors';

const labelSchema = z
  .string()
  .trim()
  .min(1, 'label is required')
  .max(60, 'label is at most 60 characters')
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  .refine((l) => !/[\u0000-\u001f\u007f]/.test(l), 'label must not contain control characters');
export const topicCreateSchema = z.object({ slug: topicSchema, label: labelSchema }).strict();
export const topicRenameSchema = z.object({ label: labelSchema }).strict();

export function topicRoutes(d: Domain): Router {
  const r = Router();
  const e = editorRoutes(r, d.secrets.editors);
  const chief = editorRoutes(r, d.secrets.editors, 'chief');
  const slugOf = (raw: unknown) => z.object({ slug: topicSchema }).parse({ slug: raw }).slug;

  r.get('/api/topics', async (_req, res) => {
    const topics = await d.topics.list();
    // Revalidated each time (the ETag makes an unchanged list a 304): the console must see a
    // rename at once, and a page must not offer a topic retired a minute ago.
    res.setHeader('Cache-Control', 'no-cache');
    res.json({ topics: topics.map(({ slug, label, declared }) => ({ slug, label, declared })) });
  });

  e.post('/api/topics', requireJson, async (req, res) => {
    const { slug, label } = topicCreateSchema.parse(req.body ?? {});
    const actor = editorOf(res.locals);
    const topic = await d.topics.create(slug, label);
    await d.audit.record({ action: 'topic-create', editor: actor.name, role: actor.role, details: { slug, label } });
    res.status(201).json({ slug: topic.slug, label: topic.label, declared: false });
  });

  e.patch('/api/topics/:slug', requireJson, async (req, res) => {
    const slug = slugOf(req.params.slug);
    const { label } = topicRenameSchema.parse(req.body ?? {});
    const actor = editorOf(res.locals);
    await d.topics.rename(slug, label);
    await d.audit.record({ action: 'topic-rename', editor: actor.name, role: actor.role, details: { slug, label } });
    res.json({ slug, label, declared: false });
  });

  chief.delete('/api/topics/:slug', async (req, res) => {
    const slug = slugOf(req.params.slug);
    const actor = editorOf(res.locals);
    await d.topics.retire(slug);
    await d.audit.record({ action: 'topic-retire', editor: actor.name, role: actor.role, details: { slug } });
    res.status(204).end();
  });

  return r;
}
