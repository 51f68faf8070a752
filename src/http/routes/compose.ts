// What the console asks while an editor composes: previews of the draft as readers will see it
// (through the real payload builder and email templates) and the audience it would reach.
import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import type { Domain } from '../../services';
import { draftSchema, topicsSchema, type Draft } from '../../schemas';
import { newAlertId } from '../../pipeline/publish';
import { buildPushPayload, fixedPayloadBytes, titleFits } from '../../push/payload';
import { MAX_PLAINTEXT_BYTES } from '../../push/encrypt';
import { notFound, requireJson } from '../errors';
import { editorOf, editorRoutes } from '../auth';
import { previewEmail, sendPreviewHtml } from '../email-preview';
import { type Alert, CHANNELS } from '../../model';

const DRAFT_TTL_SECONDS = 600;
const draftId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);
const audienceQuery = z.object({
  topics: z
    .string()
    .max(1000)
    .optional()
    .transform((s) =>
      (s ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t.length > 0),
    )
    .pipe(topicsSchema),
});

/** The alert the draft would become if published now. */
function draftAlert(draft: Draft, editor: string, id = newAlertId()): Alert {
  return {
    id,
    rev: 1,
    kind: 'original',
    title: draft.title,
    body: draft.body,
    flash: draft.flash,
    ...(draft.url ? { url: draft.url } : {}),
    ...(draft.story ? { story: draft.story } : {}),
    ...(draft.image ? { image: draft.image } : {}),
    topics: draft.topics,
    urgency: draft.urgency,
    channels: draft.channels,
    createdAt: new Date().toISOString(),
    createdBy: editor,
  };
}

export function composeRoutes(d: Domain): Router {
  const r = Router();
  const e = editorRoutes(r, d.secrets.editors);

  e.post('/api/preview', requireJson, async (req, res) => {
    const draft = draftSchema.parse(req.body ?? {});
    const editor = editorOf(res.locals).name;
    const alert = draftAlert(draft, editor);
    // `bytes` is the payload as written; past the limit the body is cut (`truncated`), and a
    // title that cannot fit even with an empty body is refused at publishing (`titleFits`).
    const lang = d.renderer.lang;
    const fits = titleFits(alert, d.config.http.publicBaseUrl, lang);
    const built = fits ? buildPushPayload(alert, new Date(), undefined, lang) : null;
    // The payload with an empty body, plus the body as JSON escapes it (minus the two quotes already counted).
    const bytes = fixedPayloadBytes(alert, d.config.http.publicBaseUrl, lang) + Buffer.byteLength(JSON.stringify(alert.body)) - 2;
    // The email preview is a page of its own (see below), so keep the draft for a few minutes.
    const id = randomBytes(16).toString('base64url');
    await d.redis.set(d.keys.draft(id), JSON.stringify({ draft, editor }), 'EX', DRAFT_TTL_SECONDS);
    res.json({
      push: {
        payload: built?.payload ?? null,
        bytes,
        limit: MAX_PLAINTEXT_BYTES,
        truncated: built?.truncated ?? false,
        titleFits: fits,
      },
      email: { subject: previewEmail(d, alert).subject, frame: `/api/preview/${id}/email` },
    });
  });

  // The draft's email for the console's sandboxed iframe. A document of its own because an
  // iframe's srcdoc would inherit the console's CSP, which forbids the inline styles emails need.
  e.get('/api/preview/:id/email', async (req, res) => {
    const id = draftId.safeParse(req.params.id);
    const raw = id.success ? await d.redis.get(d.keys.draft(id.data)) : null;
    if (!raw) throw notFound('draft preview');
    const { draft, editor } = JSON.parse(raw) as { draft: Draft; editor: string };
    sendPreviewHtml(res, previewEmail(d, draftAlert(draft, editor)).html);
  });

  e.get('/api/audience', async (req, res) => {
    const { topics } = audienceQuery.parse(req.query);
    // Exactly as the fan-out decides (src/pipeline/fanout.ts): no topics means every active subscriber.
    const topicIds = topics.length === 0 ? null : await d.topics.existingIds(topics);
    const counts = await Promise.all(CHANNELS.map((ch) => d.audience.count(ch, topicIds)));
    res.json({ topics, push: counts[0], email: counts[1] });
  });

  return r;
}
