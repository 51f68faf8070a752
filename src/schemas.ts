// Input validation for everything strangers and editors send. Shared by the HTTP routes and the
// NDJSON import, so both accept exactly the same things.
import { z } from 'zod';
import { CHANNELS, isLang, LANGUAGES, URGENCIES, type AlertText, type Lang } from './model';
import { endpointProblem, type OriginRule } from './push/allowlist';
import { emailProblem } from './email/address';
import { isP256Point } from './push/p256';
import { canonicalTimeZone, offeredWindow, windowLabel, type DailyWindow } from './quiet-hours';
import { clockText, offeredDigestTime, type DigestTimes } from './digest-clock';

export const topicSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'topics are lowercase slugs of 1 to 40 characters (a-z, 0-9, -)');
export const topicsSchema = z
  .array(topicSchema)
  .max(20, 'at most 20 topics')
  .transform((t) => [...new Set(t)]);

/**
 * An IANA time zone name as browsers report it (`Intl.DateTimeFormat().resolvedOptions().timeZone`),
 * in its canonical spelling: "europe/paris" is "Europe/Paris", so case variants share one group.
 * Refused with its own error code; a refused name leaves nothing behind in any cache.
 */
export const timeZoneSchema = z
  .unknown()
  .transform((raw, ctx) => {
    const tz = typeof raw === 'string' ? canonicalTimeZone(raw) : null;
    if (tz === null) {
      ctx.addIssue({
        code: 'custom',
        message: 'timeZone must be an IANA time zone such as Europe/Paris',
        params: { code: 'invalid_time_zone' },
      });
      return z.NEVER;
    }
    return tz;
  })
  // For the API description (src/http/openapi): what a client sends, which the transform hides.
  .meta({ type: 'string', description: 'An IANA time zone, e.g. Europe/Paris (default: Europe/Paris)' });

/**
 * A reader's language: one of those with a strings file (LANGUAGES). Refused with its own code:
 * each language may cost a bitmap, so the set stays closed.
 */
export const langSchema = z
  .unknown()
  .transform((raw, ctx) => {
    if (isLang(raw)) return raw;
    ctx.addIssue({ code: 'custom', message: `lang must be one of ${LANGUAGES.join(', ')}`, params: { code: 'invalid_lang' } });
    return z.NEVER;
  })
  .meta({ type: 'string', enum: [...LANGUAGES], description: "The reader's language for emails and pages (default: EMAIL_LANGUAGE)" });

/** A quiet window chosen by a subscriber: one of the newsroom's (QUIET_WINDOWS), e.g. "22:00-08:00". */
export function quietHoursSchema(allowed: readonly DailyWindow[]) {
  return z
    .unknown()
    .transform((raw, ctx) => {
      const w = typeof raw === 'string' ? offeredWindow(raw, allowed) : null;
      if (w === null) {
        ctx.addIssue({
          code: 'custom',
          message: `quietHours must be one of ${allowed.map(windowLabel).join(', ')}`,
          params: { code: 'invalid_quiet_window' },
        });
        return z.NEVER;
      }
      return w;
    })
    .meta({ type: 'string', description: `One of the newsroom's quiet windows: ${allowed.map(windowLabel).join(', ')}` });
}

/**
 * « Un résumé par jour à HH:MM »: a whole-minute time among DIGEST_TIMES ("07:30"), kept in that
 * spelling. Anything else is refused with its own code: each (zone, time) pair is a group with a bitmap.
 */
export function digestTimeSchema(times: DigestTimes) {
  return z.unknown().transform((raw, ctx) => {
    const m = typeof raw === 'string' ? offeredDigestTime(raw, times) : null;
    if (m === null) {
      const allowed = times.step !== undefined ? `a time every ${times.step} minutes from 00:00` : times.minutes.map(clockText).join(', ');
      ctx.addIssue({ code: 'custom', message: `digest must be a time written HH:MM, ${allowed}`, params: { code: 'invalid_digest_time' } });
      return z.NEVER;
    }
    return clockText(m);
  });
}

const b64url = /^[A-Za-z0-9_-]+={0,2}$/;

function decodeKey(s: string): Buffer | null {
  return b64url.test(s) ? Buffer.from(s.replace(/=+$/, ''), 'base64url') : null;
}

const authKeySchema = z
  .string()
  .max(64)
  .transform((s, ctx) => {
    const buf = decodeKey(s);
    if (!buf || buf.length !== 16) {
      ctx.addIssue({ code: 'custom', message: 'auth must be 16 bytes, base64url' });
      return z.NEVER;
    }
    return buf;
  });

export function pushSubscriptionSchema(rules: readonly OriginRule[], quietWindows: readonly DailyWindow[]) {
  return z.object({
    subscription: z.object({
      endpoint: z
        .string()
        .superRefine((ep, ctx) => {
          const problem = endpointProblem(ep, rules);
          if (problem) ctx.addIssue({ code: 'custom', message: `endpoint ${problem}` });
        })
        .meta({ description: 'The https URL of a push service the newsroom allows (PUSH_ALLOWED_ORIGINS)' }),
      expirationTime: z.number().nullable().optional(),
      keys: z
        .object({
          p256dh: z
            .string()
            .max(128)
            .transform((s, ctx) => {
              const buf = decodeKey(s);
              if (buf === null || !isP256Point(buf)) {
                ctx.addIssue({ code: 'custom', message: 'p256dh must be a base64url 65-byte uncompressed P-256 point' });
                return z.NEVER;
              }
              return buf;
            }),
          auth: authKeySchema,
        })
        .strict(),
    }),
    topics: topicsSchema.default([]),
    // Sent by our subscribe page so quiet hours follow the reader's clock.
    timeZone: timeZoneSchema.optional(),
    quietHours: quietHoursSchema(quietWindows).optional(),
    // The language of the page or box the reader subscribed from: their alerts' text, when an alert has it.
    lang: langSchema.optional(),
    // The VAPID public key the browser subscribed with (base64url), so pushes are signed with it.
    applicationServerKey: z
      .string()
      .max(128)
      .regex(/^[A-Za-z0-9_-]+$/, 'applicationServerKey must be base64url')
      .optional(),
    // The subscription this one replaces (the browser re-subscribed), proven by its auth secret.
    replaces: z
      .object({ endpoint: z.string().max(1024), auth: authKeySchema })
      .strict()
      .optional()
      .meta({ description: "The browser's previous subscription: its endpoint and keys.auth, as proof it is the same browser" }),
  });
}

export const unsubscribePushSchema = z.object({ endpoint: z.string().max(1024) });

// One address, no display name, no list, no CR/LF; internationalised domains allowed (src/email/address.ts).
export const emailSchema = z.string().transform((raw, ctx) => {
  const s = raw.normalize('NFC');
  const problem = emailProblem(s);
  if (problem) {
    ctx.addIssue({ code: 'custom', message: `the address ${problem}` });
    return z.NEVER;
  }
  return s;
});

export function emailSubscribeSchema(quietWindows: readonly DailyWindow[], digestTimes: DigestTimes) {
  return z.object({
    email: emailSchema,
    topics: topicsSchema.default([]),
    timeZone: timeZoneSchema.optional(),
    // Kept as text in the subscriber's record, in its canonical spelling.
    quietHours: quietHoursSchema(quietWindows).transform(windowLabel).optional(),
    // Absent: every alert as it goes out; "07:30": one digest a day at that time on the reader's clock.
    digest: digestTimeSchema(digestTimes).optional(),
    // Emails, pages and alert texts in this language (default: EMAIL_LANGUAGE).
    lang: langSchema.optional(),
  });
}

export const urgencySchema = z.enum(URGENCIES);
export const channelSchema = z.enum(CHANNELS);

const titleSchema = z.string().trim().min(1, 'title is required').max(200, 'title is at most 200 characters');
const bodySchema = z.string().trim().max(2000, 'body is at most 2000 characters');
const urlSchema = z
  .url()
  .max(2048)
  .refine((u) => /^https?:\/\//.test(u), 'url must be http(s)');
/** The push notification's picture: https only (a page's mixed content, never a script), length-capped. */
export const IMAGE_MAX_LENGTH = 1024;
const imageSchema = z
  .string()
  .max(IMAGE_MAX_LENGTH, `image is at most ${IMAGE_MAX_LENGTH} characters`)
  .refine((u) => {
    try {
      return new URL(u).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'image must be an https:// URL')
  .meta({ description: 'A picture shown in the push notification where supported (https URL)' });

/** One alert's text in another language: the same limits as the default text. */
const alertTextSchema = z.object({ title: titleSchema, body: bodySchema.default(''), url: urlSchema.optional() }).strict();
/**
 * `{"en":{"title","body","url"?}}`: the alert in other languages than the default one (publish.ts
 * refuses a text in the default language). Only languages with a strings file.
 */
export const alertTextsSchema = z
  .record(z.string(), alertTextSchema)
  .superRefine((texts, ctx) => {
    for (const lang of Object.keys(texts))
      if (!isLang(lang))
        ctx.addIssue({
          code: 'custom',
          path: [lang],
          message: `"${lang.slice(0, 20)}" is not a language of ours (${LANGUAGES.join(', ')})`,
          params: { code: 'invalid_lang' },
        });
  })
  .transform((texts) => texts as Partial<Record<Lang, AlertText>>)
  .meta({
    description: `The alert in other languages (${LANGUAGES.join(', ')}), beside the default title and body: each reader gets their language's text, or the default one`,
    propertyNames: { enum: [...LANGUAGES] },
  });

/** When to send: an ISO 8601 date-time with its offset, e.g. 2025-03-01T07:00:00+01:00. */
const publishAtSchema = z.iso.datetime({ offset: true, error: 'publishAt must be an ISO 8601 date-time with a time zone offset' });

export const alertInputSchema = z
  .object({
    title: titleSchema,
    body: bodySchema.default(''),
    url: urlSchema.optional(),
    image: imageSchema.optional(),
    texts: alertTextsSchema.optional(),
    story: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'story is a lowercase slug of 1 to 64 characters (a-z, 0-9, -), like "haut-karabakh"')
      .optional(),
    topics: topicsSchema.default([]),
    urgency: urgencySchema.default('high'),
    channels: z
      .array(channelSchema)
      .min(1, 'at least one channel')
      .transform((c) => [...new Set(c)])
      .default(['push', 'email']),
    flash: z.boolean().default(false),
    publishAt: publishAtSchema.optional(),
  })
  .strict();
export type AlertInput = z.infer<typeof alertInputSchema>;

/** What the console sends while the editor types: an alert that may not have its title yet. */
export const draftSchema = alertInputSchema.extend({ title: z.string().trim().max(200, 'title is at most 200 characters') });
export type Draft = z.infer<typeof draftSchema>;
export const updateInputSchema = z
  .object({
    title: titleSchema.optional(),
    body: bodySchema.optional(),
    url: urlSchema.optional(),
    image: imageSchema.optional(),
    // Absent: the update carries no other language (its readers get the default text).
    texts: alertTextsSchema.optional(),
    flash: z.boolean().default(false),
    publishAt: publishAtSchema.optional(),
  })
  .strict()
  .refine((u) => u.title !== undefined || u.body !== undefined, { error: 'an update needs a title or a body', path: ['title'] })
  .meta({ anyOf: [{ required: ['title'] }, { required: ['body'] }] });
export type UpdateInput = z.infer<typeof updateInputSchema>;

export const correctionInputSchema = z
  .object({
    title: titleSchema,
    body: bodySchema.min(1, 'body is required'),
    // Absent: the correction carries no other language (an earlier English text may be the error).
    texts: alertTextsSchema.optional(),
    flash: z.boolean().default(false),
  })
  .strict();
export type CorrectionInput = z.infer<typeof correctionInputSchema>;
