// Hop 2: publishing. A revision (the original, an update, a correction or a test) is stored, then
// either waits for a chief's approval or gets its first fan-out wave queued (delayed until
// `publishAt` when scheduled); everything else happens in the workers, so the editor's request
// returns in milliseconds whatever the audience. Every action lands in the audit log.
import { randomBytes } from 'node:crypto';
import type { Domain } from '../services';
import type { Queues } from './queues';
import type { AlertInput, CorrectionInput, UpdateInput } from '../schemas';
import { fingerprint } from '../store/idempotency';
import { conflict, DomainError, invalid, notFound } from '../errors';
import { queueFirstWave } from './fanout';
import { supersede } from './control';
import { overThreshold } from './approval';
import { chooseLane } from './lanes';
import { fixedPayloadBytes, titleFits } from '../push/payload';
import { MAX_PLAINTEXT_BYTES } from '../push/encrypt';
import { pushInLanguage, textLanguages } from '../alert-text';
import type { Renderer } from '../email/render';
import { alertData, emit, eventId } from './events';
import type { Actor, Alert, AlertKind, Channel } from '../model';

export type Newsroom = Pick<
  Domain,
  'alerts' | 'progress' | 'audience' | 'topics' | 'idempotency' | 'audit' | 'config' | 'renderer' | 'webhooks' | 'log'
> & {
  queues: Queues;
};

const MAX_SCHEDULE_MS = 30 * 24 * 3600 * 1000;
const PAST_TOLERANCE_MS = 60_000;

/** Sortable by time, unguessable, and free of ":" (BullMQ job ids and our keys embed it). */
export function newAlertId(now = Date.now()): string {
  return `${now.toString(36)}${randomBytes(5).toString('hex')}`;
}

/** A future `publishAt` as ISO text; undefined when absent or already due. */
function schedule(publishAt: string | undefined): string | undefined {
  if (publishAt === undefined) return undefined;
  const at = Date.parse(publishAt);
  const now = Date.now();
  if (at < now - PAST_TOLERANCE_MS) throw invalid('publishAt: is in the past');
  if (at > now + MAX_SCHEDULE_MS) throw invalid('publishAt: is more than 30 days ahead');
  return at > now ? new Date(at).toISOString() : undefined;
}

export async function publishAlert(
  d: Newsroom,
  input: AlertInput,
  actor: Actor,
  idempotencyKey?: string,
  /** Chosen by the caller when it must know the id before the alert exists (the CMS hook's claim). */
  id = newAlertId(),
): Promise<{ alert: Alert; replayed: boolean }> {
  const publishAt = schedule(input.publishAt);
  if (idempotencyKey !== undefined) {
    const claim = await d.idempotency.claim(actor.name, idempotencyKey, fingerprint(input), id);
    if (claim.kind === 'mismatch')
      throw new DomainError('unprocessable', 'idempotency_key_reused', 'this Idempotency-Key was already used with a different body');
    if (claim.kind === 'replay') return { alert: await waitForAlert(d, claim.alertId), replayed: true };
  }
  try {
    const draft: Alert = {
      id,
      rev: 1,
      kind: 'original',
      title: input.title,
      body: input.body,
      ...(input.url ? { url: input.url } : {}),
      ...textsOf(d, input.texts),
      ...(input.story ? { story: input.story } : {}),
      ...(input.image ? { image: input.image } : {}),
      topics: input.topics,
      urgency: input.urgency,
      channels: input.channels,
      flash: input.flash,
      ...(publishAt ? { publishAt } : {}),
      createdAt: new Date().toISOString(),
      createdBy: actor.name,
    };
    ensurePushFits(draft, d.renderer, d.config.http.publicBaseUrl);
    // Only the newsroom's topics: an alert to a topic nobody can follow would reach only the
    // readers without topics, which is surely not what the editor meant.
    await d.topics.resolve(draft.topics);
    const alert: Alert = { ...draft, lane: await chooseLane(d, draft, d.config.delivery.priority.maxAudience) };
    await d.alerts.create(alert);
    const outcome = await launch(d, alert);
    await d.audit.record({
      action: 'publish',
      editor: actor.name,
      role: actor.role,
      alertId: id,
      rev: 1,
      details: { title: alert.title, outcome, ...(publishAt ? { publishAt } : {}) },
    });
    await announce(d, alert, 'alert.published', outcome);
    return { alert, replayed: false };
  } catch (err) {
    if (idempotencyKey !== undefined) await d.idempotency.release(actor.name, idempotencyKey, id).catch(() => undefined);
    throw err;
  }
}

/** A new revision of the same story: pushes replace the earlier one, emails say « Mise à jour ». */
export async function publishUpdate(d: Newsroom, id: string, input: UpdateInput, actor: Actor): Promise<Alert> {
  const publishAt = schedule(input.publishAt);
  const alert = await newRevision(d, id, 'update', actor, (prev) => ({
    title: input.title ?? prev.title,
    body: input.body ?? prev.body,
    ...((input.url ?? prev.url) ? { url: input.url ?? prev.url } : {}),
    ...((input.image ?? prev.image) ? { image: input.image ?? prev.image } : {}),
    ...textsOf(d, input.texts),
    flash: input.flash,
    ...(publishAt ? { publishAt } : {}),
  }));
  const outcome = await launch(d, alert);
  await d.audit.record({
    action: 'update',
    editor: actor.name,
    role: actor.role,
    alertId: id,
    rev: alert.rev,
    details: { title: alert.title, outcome },
  });
  await announce(d, alert, 'alert.published', outcome);
  return alert;
}

/** « Rectificatif »: only to those who received an earlier revision, on the channel they got it on. */
export async function publishCorrection(d: Newsroom, id: string, input: CorrectionInput, actor: Actor): Promise<Alert> {
  const alert = await newRevision(d, id, 'correction', actor, (prev) => ({
    title: input.title,
    body: input.body,
    ...textsOf(d, input.texts),
    flash: input.flash,
    ...(prev.url ? { url: prev.url } : {}),
  }));
  const outcome = await launch(d, alert);
  await d.audit.record({
    action: 'correct',
    editor: actor.name,
    role: actor.role,
    alertId: id,
    rev: alert.rev,
    details: { title: alert.title, outcome },
  });
  await announce(d, alert, 'alert.corrected', outcome);
  return alert;
}

/** To TEST_RECIPIENTS only, labelled « TEST »: the fan-out of a test never looks at subscribers. */
export async function publishTest(d: Newsroom, input: AlertInput, actor: Actor): Promise<Alert> {
  const list = d.config.workflow.testRecipients;
  const available: Channel[] = [...(list.push.length > 0 ? ['push' as const] : []), ...(list.emails.length > 0 ? ['email' as const] : [])];
  const channels = input.channels.filter((c) => available.includes(c));
  if (channels.length === 0) throw conflict('no_test_recipients', `TEST_RECIPIENTS lists nobody for ${input.channels.join(' or ')}`);
  const alert: Alert = {
    id: newAlertId(),
    rev: 1,
    kind: 'test',
    title: input.title,
    body: input.body,
    ...(input.url ? { url: input.url } : {}),
    ...textsOf(d, input.texts),
    ...(input.story ? { story: input.story } : {}),
    ...(input.image ? { image: input.image } : {}),
    topics: [],
    urgency: input.urgency,
    channels,
    flash: true,
    lane: 'flash',
    createdAt: new Date().toISOString(),
    createdBy: actor.name,
  };
  ensurePushFits(alert, d.renderer, d.config.http.publicBaseUrl);
  await d.alerts.create(alert);
  await queueFirstWave(d, alert, 0);
  await d.audit.record({
    action: 'test',
    editor: actor.name,
    role: actor.role,
    alertId: alert.id,
    rev: 1,
    details: { title: alert.title, channels },
  });
  return alert;
}

type RevisionFields = Pick<Alert, 'title' | 'body' | 'flash'> & Partial<Pick<Alert, 'url' | 'publishAt' | 'image' | 'texts'>>;

async function newRevision(
  d: Newsroom,
  id: string,
  kind: AlertKind,
  actor: Actor,
  fields: (prev: Alert) => RevisionFields,
): Promise<Alert> {
  const prev = await d.alerts.get(id);
  if (!prev) throw notFound('alert');
  if (prev.kind === 'test') throw conflict('test_alert', 'a test alert cannot be updated or corrected; send another test');
  // Texts belong to one revision: a new one carries only those it was given.
  const { url: _url, publishAt: _at, texts: _texts, ...base } = prev;
  const draft: Alert = { ...base, ...fields(prev), rev: prev.rev + 1, kind, createdAt: new Date().toISOString(), createdBy: actor.name };
  ensurePushFits(draft, d.renderer, d.config.http.publicBaseUrl);
  const numbered: Alert = { ...draft, rev: await d.alerts.nextRev(id) };
  // Chosen again for each revision: an update may be a flash, a correction reaches fewer.
  const alert: Alert = { ...numbered, lane: await chooseLane(d, numbered, d.config.delivery.priority.maxAudience) };
  await d.alerts.saveRevision(alert);
  // Earlier revisions stop where they are: who has not got them yet gets this one instead.
  await supersede(d, id, alert.rev);
  return alert;
}

/** Tells the webhooks: an original or an update is `alert.published`, a correction `alert.corrected`. */
async function announce(d: Newsroom, alert: Alert, type: 'alert.published' | 'alert.corrected', status: string): Promise<void> {
  await emit(d, {
    type,
    id: eventId(alert.id, alert.rev, type === 'alert.published' ? 'published' : 'corrected'),
    data: alertData(alert, { status }),
  });
}

/**
 * An alert's other-language texts, or nothing. A text in the default language is refused: the
 * default title and body are that text, and two versions of it could only disagree.
 */
function textsOf(d: Newsroom, texts: Alert['texts']): Pick<Alert, 'texts'> {
  if (!texts || Object.keys(texts).length === 0) return {};
  const lang = d.config.email.language;
  if (texts[lang])
    throw invalid(`texts.${lang}: ${lang} is the default language (EMAIL_LANGUAGE): its text is the alert's title and body`, [
      { field: `texts.${lang}`, message: 'the default language has no separate text' },
    ]);
  return { texts };
}

/**
 * Refused before anything is stored or queued: no push could carry this title (with its label)
 * in one of the alert's languages. Each is checked as its readers get it; the error names it.
 */
function ensurePushFits(alert: Alert, renderer: Renderer, site: string): void {
  if (!alert.channels.includes('push')) return;
  for (const lang of textLanguages(alert, renderer.lang)) {
    const sent = pushInLanguage(alert, lang, renderer.in(lang).strings);
    if (titleFits(sent, site, lang)) continue;
    const bytes = fixedPayloadBytes(sent, site, lang);
    const which = lang === renderer.lang ? 'the title' : `the ${lang} title (texts.${lang})`;
    throw new DomainError(
      'unprocessable',
      'push_payload_too_large',
      `${which} does not fit in a push message: with an empty body the payload takes ${bytes} bytes, the limit is ${MAX_PLAINTEXT_BYTES}; shorten the title, the URL or the topics`,
      { lang, bytes, limit: MAX_PLAINTEXT_BYTES },
    );
  }
}

/** Waits for approval when the audience is over APPROVAL_THRESHOLD, else queues the first wave. */
async function launch(d: Newsroom, alert: Alert): Promise<'awaiting_approval' | 'scheduled' | 'queued'> {
  const size = await overThreshold(d, alert, d.config.workflow.approvalThreshold);
  if (size !== null) {
    // Refused only when a newer revision superseded this one meanwhile: nothing to send either way.
    await d.progress.revisions.awaitApproval(alert.id, alert.rev, size);
    return 'awaiting_approval';
  }
  await queueFirstWave(d, alert, (await d.progress.ctl(alert.id)).gen);
  return alert.publishAt ? 'scheduled' : 'queued';
}

async function waitForAlert(d: Newsroom, id: string): Promise<Alert> {
  // The racing request that claimed the key may still be storing the alert: give it a moment.
  for (let i = 0; i < 100; i++) {
    const alert = await d.alerts.get(id);
    if (alert) return alert;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw conflict('idempotent_request_in_progress', 'a request with this Idempotency-Key is still being processed; retry shortly');
}
