// The environment variables, each validated once. Durations have one syntax everywhere: a whole
// number with an optional unit, ms, s, m, h or d (no unit: seconds), as milliseconds.
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { createPublicKey } from 'node:crypto';
import { parseWindow, PAGE_QUIET_WINDOW } from '../quiet-hours';
import { DEFAULT_PAGE_TOPICS } from './lists';
import { LANGUAGES } from '../model';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "900" (seconds), "1500ms", "90s", "15m", "48h", "7d" → milliseconds; null when malformed. */
export function parseDuration(raw: string): number | null {
  const m = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? 's'] : null;
}

const durationMs = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === null || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: ms === null ? 'must be a duration like 900, 1500ms, 90s, 15m, 48h or 7d' : 'must be longer than 0',
    });
    return z.NEVER;
  }
  return ms;
});
/** A duration at most `maxMs` long, with its default written the same way as the variable. */
const duration = (fallback: string, maxMs = Number.MAX_SAFE_INTEGER, maxText = '') =>
  durationMs.refine((ms) => ms <= maxMs, `must be at most ${maxText}`).default(parseDuration(fallback)!);

export const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  REDIS_URL: z.url().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  // Managed clusters want credentials and TLS; a single Redis has them in REDIS_URL (rediss://user:pass@…).
  REDIS_CLUSTER_USERNAME: z.string().optional(),
  REDIS_CLUSTER_PASSWORD: z.string().optional(),
  REDIS_CLUSTER_TLS: z.enum(['true', 'false', '1', '0']).default('false'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]{1,32}$/i, 'letters, digits, _ or - only')
    .default('dp'),
  DATA_DIR: z.string().default('./data'),
  PUBLIC_BASE_URL: z.url().optional(),
  EDITOR_TOKENS: z.string().optional(),
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // Encrypts the generated secrets kept in Redis (see secrets.ts); without it they are stored in clear.
  SECRETS_KEY: z.string().min(32, 'must be at least 32 characters (npm run keys prints one)').optional(),
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  // Older VAPID pairs still used to sign for the subscriptions made with them (key rotation).
  VAPID_PREVIOUS_KEYS: z.string().optional(),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:)/, "must start with mailto: or https: (Apple's push service would refuse every push, 403 BadJwtToken)")
    .default('mailto:alertes@depeche.example'),
  PUSH_ALLOWED_ORIGINS: z.string().optional(),
  PUSH_TLS_CA_FILE: z.string().optional(),
  PUSH_TTL_SECONDS: z.string().optional(),
  PUSH_TIMEOUT_MS: positiveInt.default(10_000),
  PUSH_CONCURRENCY: positiveInt.max(1000).default(100),
  PUSH_MAX_ORIGINS: positiveInt.max(10_000).default(128),
  PUSH_RETRY_DELAY_MS: positiveInt.default(1000),
  PUSH_RETRY_MAX_DELAY_MS: positiveInt.default(60_000),
  // Which subscriptions get Declarative Web Push payloads (Safari 18.4+ shows them without our worker).
  PUSH_DECLARATIVE: z.enum(['apple', 'all', 'off']).default('apple'),
  // A subscription refused this many times in a row with the same non-auth 4xx, over at least
  // PUSH_QUARANTINE_DAYS calendar days, is quarantined (no longer sent to, restorable); 0: never.
  PUSH_QUARANTINE_STRIKES: z.coerce.number().int().min(0).max(100).default(5),
  PUSH_QUARANTINE_DAYS: z.coerce.number().int().min(1).max(365).default(3),
  WORKER_PROCESSES: positiveInt.max(64).optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be smtp:// or smtps://')
    .optional(),
  SMTP_POOL_SIZE: positiveInt.max(100).default(8),
  SMTP_TIMEOUT_MS: positiveInt.default(30_000),
  MAIL_FROM: z
    .string()
    .refine((v) => {
      const list = addressparser(v, { flatten: true });
      return list.length === 1 && /^[\x21-\x7e]+@[\x21-\x7e]+$/.test(list[0].address);
    }, 'must be one sender like "dépêche <alertes@exemple.fr>" (ASCII address)')
    .default('dépêche <alertes@depeche.example>'),
  EMAIL_RATE_PER_SECOND: positiveInt.max(100_000).optional(),
  // The newsroom's default language: alerts' own title and body are in it, and so is everything
  // a reader who chose no language gets. One of the languages with a strings file.
  EMAIL_LANGUAGE: z
    .enum(LANGUAGES, { error: `must be one of ${LANGUAGES.join(', ')} (a language with templates/i18n/<lang>.json)` })
    .default('fr'),
  CONFIRM_TTL: duration('7d'),
  CONFIRM_RESEND_INTERVAL: duration('10m'),
  DKIM_DOMAIN: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a domain name like depeche.example')
    .optional(),
  DKIM_SELECTOR: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9._-]{0,62})$/i, 'must be a DNS label like mail2024')
    .optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  // VERP: envelope senders BOUNCE_LOCAL+<token>@BOUNCE_DOMAIN; the token must fit a 64-character local part.
  BOUNCE_DOMAIN: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a domain name like bounces.depeche.example')
    .optional(),
  BOUNCE_LOCAL: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,15}$/, 'must be 1 to 16 lowercase letters, digits, ".", "_" or "-"')
    .default('bounces'),
  BOUNCE_SMTP_PORT: port.optional(),
  BOUNCE_MAX_BYTES: positiveInt.max(10_000_000).default(262_144),
  BOUNCE_RATE_LIMIT: positiveInt.max(100_000).default(60),
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(8).optional(),
  POSTMARK_WEBHOOK_AUTH: z
    .string()
    .regex(/^[^:]+:.{8,}$/, 'must be user:password (a password of 8 characters or more)')
    .optional(),
  SENDGRID_WEBHOOK_PUBLIC_KEY: z
    .string()
    .transform((v, ctx) => {
      const der = p256SpkiOf(v);
      if (der === null) ctx.addIssue({ code: 'custom', message: 'must be the P-256 verification key SendGrid shows (base64), or its PEM' });
      return der ?? '';
    })
    .optional(),
  BATCH_SIZE: z.coerce
    .number()
    .int()
    .refine((n) => [64, 128, 256, 512, 1024].includes(n), 'must be 64, 128, 256, 512 or 1024')
    .default(512),
  WORKER_CONCURRENCY: positiveInt.max(64).default(4),
  // Priority lanes: urgency-high alerts reaching at most this many go in the flash lane (0: flashes only),
  // whose batches each process serves with this many slots of its own, besides WORKER_CONCURRENCY.
  PRIORITY_MAX_AUDIENCE: z.coerce.number().int().min(0).max(1_000_000_000).default(10_000),
  PRIORITY_CONCURRENCY: positiveInt.max(64).default(2),
  BODY_LIMIT: z.string().default('16kb'),
  PAGE_TOPICS: z.string().default(DEFAULT_PAGE_TOPICS),
  // "production" turns off what only helps in development (the demo article, /demo/article).
  NODE_ENV: z.string().optional(),
  MAX_TOPICS: positiveInt.max(10_000).default(200),
  CORS_ORIGINS: z.string().optional(),
  SUBSCRIBE_RATE_LIMIT: z.coerce.number().int().min(0).default(60),
  SUBSCRIBE_RATE_WINDOW_S: positiveInt.max(86_400).default(60),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(25_000),
  JOB_LOCK_MS: positiveInt.min(1000).default(30_000),
  SESSION_TTL_HOURS: positiveInt.max(24 * 30).default(12),
  SESSION_MAX_AGE: duration('12h', 30 * 86_400_000, '30d'),
  SESSION_RECHECK_INTERVAL: duration('30s', 3_600_000, '1h'),
  SIGNIN_MAX_FAILURES: positiveInt.max(10_000).default(10),
  SIGNIN_WINDOW: duration('10m', 86_400_000, '1d'),
  TRUST_PROXY: z.string().optional(),
  METRICS_PORT: port.optional(),
  DELIVERY_TARGET_SECONDS: positiveInt.max(86_400).default(120),
  QUIET_HOURS: z
    .string()
    .refine((w) => parseWindow(w) !== null, 'must look like 22:00-08:00')
    .optional(),
  QUIET_WINDOWS: z.string().default(PAGE_QUIET_WINDOW),
  MAX_QUIET_GROUPS: positiveInt.max(100_000).default(200),
  DIGEST_TIMES: z.string().default('*/15'),
  MAX_DIGEST_GROUPS: positiveInt.max(100_000).default(200),
  MIN_ALERT_GAP: durationMs.optional(),
  APPROVAL_THRESHOLD: z.coerce.number().int().min(0).optional(),
  TEST_RECIPIENTS: z.string().optional(),
  // Outbound webhooks: private targets only for tests and closed networks; how long an endpoint
  // may fail before it is disabled; the retry backoff's first step; an extra CA (tests).
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).default('false'),
  WEBHOOK_DISABLE_AFTER: duration('1d', 30 * 86_400_000, '30d'),
  WEBHOOK_RETRY_DELAY: duration('10s', 3_600_000, '1h'),
  WEBHOOK_TIMEOUT: duration('10s', 60_000, '60s'),
  WEBHOOK_TLS_CA_FILE: z.string().optional(),
  CMS_HOOK_SECRETS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
});

/**
 * SendGrid's « verification key »: an ECDSA P-256 public key, shown as base64 DER (SPKI), or the
 * same in PEM. Returns it as base64 DER, or null when it is no P-256 public key.
 */
function p256SpkiOf(raw: string): string | null {
  const b64 = raw.replace(/-----(BEGIN|END) PUBLIC KEY-----|\s/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) return null;
  try {
    const key = createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? b64 : null;
  } catch {
    return null;
  }
}
