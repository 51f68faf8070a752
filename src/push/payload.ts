// What a subscriber's service worker receives, and how it is kept within what a push service
// must accept: 4096 bytes encrypted, so 3993 bytes of plaintext JSON. The body gives way first,
// cut between two graphemes (never inside a UTF-8 sequence, an accented letter, a « guillemet »
// or an emoji) and ended with "…". A title that does not fit even with an empty body is refused
// at publishing time, before anything is queued.
import { createHash } from 'node:crypto';
import { MAX_PLAINTEXT_BYTES } from './encrypt';
import { DELIVERY_TOKEN_MAX } from '../tokens';
import type { Alert } from '../model';

/** The service worker's contract (templates/public/sw-core.js): keep these names stable. */
export interface PushPayload {
  id: string;
  /** Which revision of the alert, and what it is: original, update, correction or test. */
  rev: number;
  kind: string;
  title: string;
  body: string;
  url: string;
  topics: string[];
  urgency: string;
  sentAt: string;
  /** Notification tag: a newer alert of the same story replaces the older one on screen. */
  tag: string;
  story?: string;
  /** A picture shown under the text where the platform supports it (https only, checked at publishing). */
  image?: string;
  /** The notification's two buttons, « Lire » (the article) and « Réglages » (our subscribe page). */
  actions: PushAction[];
  /**
   * The start of our current VAPID public key: a service worker whose subscription was made with
   * another key re-subscribes (key rotation) without asking our API at every push.
   */
  key?: string;
  /** The language of title and body (BCP 47, "fr"): the notification's `lang`. */
  lang: string;
  /**
   * The recipient's signed receipt (tokens.ts), for POST /api/receipts. Always the last field:
   * the JSON is built once per batch up to it, and each recipient's token is spliced in.
   */
  receipt: string;
}

/** `action` is what the service worker's notificationclick sees in `event.action`. */
export interface PushAction {
  action: 'lire' | 'reglages';
  title: string;
}

/** Where « Réglages » leads, on our own origin (the service worker resolves it against its own). */
export const SETTINGS_PATH = '/alertes';

/** The buttons' labels in the notification's language (the same words as the i18n files). */
const ACTIONS: Record<string, PushAction[]> = {
  fr: [
    { action: 'lire', title: 'Lire' },
    { action: 'reglages', title: 'Réglages' },
  ],
  en: [
    { action: 'lire', title: 'Read' },
    { action: 'reglages', title: 'Settings' },
  ],
};
const actionsIn = (lang: string): PushAction[] => ACTIONS[lang] ?? ACTIONS.fr ?? [];

const ELLIPSIS = '…';
const segmenter = new Intl.Segmenter('fr', { granularity: 'grapheme' });

/**
 * RFC 8030 `Topic` (at most 32 base64url characters): a newer message with the same topic
 * replaces one the push service still holds. Alerts of one story share it; an alert without a
 * story gets its own, so its later revisions replace it too.
 */
export function replacementKey(alert: Pick<Alert, 'id' | 'story'>): string {
  const basis = alert.story ? `story:${alert.story}` : `alert:${alert.id}`;
  return createHash('sha256').update(basis).digest('base64url').slice(0, 32);
}

/** How much of the public key the payload carries: 96 bits of the point's X, enough to tell keys apart. */
export const KEY_HINT_LENGTH = 16;
const KEY_ROOM = 'x'.repeat(KEY_HINT_LENGTH);

function payloadOf(alert: Alert, body: string, sentAt: Date, lang: string, key = KEY_ROOM, receipt = RECEIPT_ROOM): PushPayload {
  return {
    id: alert.id,
    rev: alert.rev,
    kind: alert.kind,
    title: alert.title,
    body,
    url: alert.url ?? '',
    topics: alert.topics,
    urgency: alert.urgency,
    sentAt: sentAt.toISOString(),
    tag: replacementKey(alert),
    ...(alert.story ? { story: alert.story } : {}),
    ...(alert.image ? { image: alert.image } : {}),
    actions: actionsIn(lang),
    ...(key ? { key: key.slice(0, KEY_HINT_LENGTH) } : {}),
    lang,
    receipt,
  };
}

/** The room the longest receipt takes: every size check counts it, so any real one fits. */
const RECEIPT_ROOM = 'x'.repeat(DELIVERY_TOKEN_MAX);

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

/**
 * How the payload is wrapped. `declarative`: Declarative Web Push (WebKit, Safari 18.4+), which
 * Safari shows by itself even when our service worker was evicted; `site` is where a notification
 * of an alert without a URL leads (`navigate` is mandatory there).
 */
export interface PayloadShape {
  declarative: boolean;
  site: string;
  /** Our current VAPID public key (its start goes in `key`); '' for none (previews). */
  currentKey?: string;
  /**
   * Declarative only: leave the buttons out. Each declarative button repeats where it leads, so
   * « Lire » repeats the article's URL; an alert whose long URL leaves no room for that still goes
   * out, its notification opening the article when tapped (set by buildPushPayload, not callers).
   */
  noButtons?: boolean;
}

const PLAIN: PayloadShape = { declarative: false, site: '' };

/**
 * `{"web_push":8030,"notification":{...},"mutable":true, ...our fields}`: the notification as
 * the format describes it, and our own fields beside it (the format ignores members it does not
 * know), so our service worker, when it runs (`mutable`), finds the same fields as in the plain
 * payload. Title, body and tag are carried once, inside `notification`.
 */
function wrap(p: PushPayload, shape: PayloadShape): object {
  if (!shape.declarative) return p;
  const { title, body, tag, image, actions, ...ours } = p;
  const navigate = p.url || shape.site || '/';
  // Declarative actions must say where they lead, since no worker may be there to decide.
  const settings = shape.site ? new URL(SETTINGS_PATH, shape.site).href : SETTINGS_PATH;
  const buttons = shape.noButtons ? [] : actions.map((a) => ({ ...a, navigate: a.action === 'lire' ? navigate : settings }));
  const notification = {
    title,
    body,
    navigate,
    lang: p.lang,
    dir: 'ltr',
    tag,
    silent: false,
    ...(image ? { image } : {}),
    ...(buttons.length > 0 ? { actions: buttons } : {}),
  };
  return { web_push: 8030, notification, mutable: true, ...ours };
}

/**
 * Bytes the payload takes with an empty body, in the larger of its two shapes (plain and
 * declarative): over the limit means the title cannot fit whichever service gets it.
 */
export function fixedPayloadBytes(alert: Alert, site = '', lang = 'fr'): number {
  const p = payloadOf(alert, '', new Date(0), lang);
  const declarative = jsonBytes(wrap(p, { declarative: true, site }));
  const bare = jsonBytes(wrap(p, { declarative: true, site, noButtons: true }));
  return Math.max(jsonBytes(p), declarative <= MAX_PLAINTEXT_BYTES ? declarative : bare);
}

export function titleFits(alert: Alert, site = '', lang = 'fr'): boolean {
  return fixedPayloadBytes(alert, site, lang) <= MAX_PLAINTEXT_BYTES;
}

/**
 * The longest prefix of `text`, in whole graphemes, whose JSON-escaped UTF-8 form takes at most
 * `budget` bytes, followed by "…". Trailing spaces before the ellipsis are dropped.
 */
export function truncateForJson(text: string, budget: number): string {
  const room = budget - Buffer.byteLength(ELLIPSIS, 'utf8');
  let used = 0;
  let end = 0;
  for (const { segment, index } of segmenter.segment(text)) {
    const cost = jsonBytes(segment) - 2;
    if (used + cost > room) break;
    used += cost;
    end = index + segment.length;
  }
  return text.slice(0, end).trimEnd() + ELLIPSIS;
}

/**
 * The payload as UTF-8 JSON, within MAX_PLAINTEXT_BYTES. Throws if even the title alone does
 * not fit (publishing refuses such alerts, so a worker only sees this for corrupted data).
 */
export function buildPushPayload(
  alert: Alert,
  sentAt = new Date(),
  shape: PayloadShape = PLAIN,
  /** The language of the alert's text as given (inLanguage, alert-text.ts). */
  lang = 'fr',
): { json: Buffer; truncated: boolean; payload: PushPayload } {
  const key = shape.currentKey ?? '';
  // Buttons in a declarative payload only when the title, URL and image leave room for them.
  if (shape.declarative && !shape.noButtons && jsonBytes(wrap(payloadOf(alert, '', sentAt, lang, key), shape)) > MAX_PLAINTEXT_BYTES)
    return buildPushPayload(alert, sentAt, { ...shape, noButtons: true }, lang);
  const full = payloadOf(alert, alert.body, sentAt, lang, key);
  if (jsonBytes(wrap(full, shape)) <= MAX_PLAINTEXT_BYTES) return done(full, false, shape);
  const fixed = jsonBytes(wrap(payloadOf(alert, '', sentAt, lang, key), shape));
  if (fixed > MAX_PLAINTEXT_BYTES)
    throw new RangeError(`alert ${alert.id}: title takes ${fixed} bytes of payload, over ${MAX_PLAINTEXT_BYTES}`);
  return done(payloadOf(alert, truncateForJson(alert.body, MAX_PLAINTEXT_BYTES - fixed), sentAt, lang, key), true, shape);
}

/** The payload as sent, with an empty receipt: what a preview shows. */
function done(p: PushPayload, truncated: boolean, shape: PayloadShape): { json: Buffer; truncated: boolean; payload: PushPayload } {
  const payload = { ...p, receipt: '' };
  return { json: Buffer.from(JSON.stringify(wrap(payload, shape)), 'utf8'), truncated, payload };
}

/**
 * The payload cut around its receipt: prefix + token + suffix is one recipient's JSON (plain or
 * declarative: the receipt is the last field of both). Tokens are made of [a-z0-9._-] only, so
 * they need no JSON escaping.
 */
export function receiptTemplate(json: Buffer): { prefix: Buffer; suffix: Buffer } {
  const tail = Buffer.from('"receipt":""}');
  if (!json.subarray(json.length - tail.length).equals(tail)) throw new Error('push payload: receipt is not the last field');
  return { prefix: json.subarray(0, json.length - 2), suffix: json.subarray(json.length - 2) };
}
