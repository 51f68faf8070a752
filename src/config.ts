// Configuration is read and validated here, once, at start. Nothing else in the project touches
// process.env: the rest of the code receives typed slices of the object built here.
import { createPrivateKey } from 'node:crypto';
import { availableParallelism } from 'node:os';
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { emailSchema, topicSchema } from './schemas';
import { parseQuietWindows, parseWindow, PAGE_QUIET_WINDOW, type DailyWindow } from './quiet-hours';
import { parseTrustProxy, type TrustProxy } from './trust-proxy';
import { EDITOR_ROLES, type EditorRole, type Urgency } from './model';
import { refusePlaceholders } from './placeholders';

export type { DailyWindow } from './quiet-hours';

const DEFAULT_PUSH_ORIGINS = [
  'https://fcm.googleapis.com',
  'https://*.push.services.mozilla.com',
  'https://web.push.apple.com',
  'https://*.notify.windows.com',
];

const DEFAULT_PAGE_TOPICS = 'international:International,politique:Politique,economie:Économie,societe:Société,sport:Sport,culture:Culture';

const csv = (s: string | undefined): string[] =>
  (s ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0);

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
/** A duration such as 90 (seconds), 30s, 10m, 48h or 7d, as whole seconds. */
const duration = z.string().regex(/^\d+[smhd]?$/, 'must be a duration like 3600, 30s, 10m, 48h or 7d')
  .transform((v) => Number(/^\d+/.exec(v)![0]) * (UNIT_SECONDS[v.slice(-1)] ?? 1))
  .refine((n) => n > 0, 'must be longer than 0');

const URGENCIES: readonly Urgency[] = ['very-low', 'low', 'normal', 'high'];
// A very-low message waits for the device to be on power and Wi-Fi, so it needs longer to live;
// a breaking alert that arrives half a day late is no longer breaking.
const DEFAULT_TTL: Record<Urgency, number> = { high: 4 * 3600, normal: 8 * 3600, low: 12 * 3600, 'very-low': 24 * 3600 };

/** "14400" for every urgency, or "high:3600,normal:14400" (unnamed urgencies keep their default). */
function parseTtls(raw: string | undefined): Record<Urgency, number> {
  const out = { ...DEFAULT_TTL };
  if (raw === undefined) return out;
  const valid = (n: number) => Number.isInteger(n) && n >= 0 && n <= 2419200;
  if (/^\d+$/.test(raw.trim())) {
    const n = Number(raw.trim());
    if (!valid(n)) throw new Error('PUSH_TTL_SECONDS must be between 0 and 2419200 (28 days)');
    for (const u of URGENCIES) out[u] = n;
    return out;
  }
  for (const entry of csv(raw)) {
    const m = /^(very-low|low|normal|high):(\d+)$/.exec(entry);
    if (!m || !valid(Number(m[2]))) throw new Error(`PUSH_TTL_SECONDS entry "${entry}" must be urgency:seconds (urgency very-low, low, normal or high; at most 2419200 s)`);
    out[m[1] as Urgency] = Number(m[2]);
  }
  return out;
}

/** "900", "900s", "15m", "1h" → milliseconds; null when malformed. */
function parseDuration(raw: string): number | null {
  const m = /^(\d+)\s*(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

export interface TestRecipients { emails: string[]; push: number[] }

function parseTestRecipients(raw: string): TestRecipients {
  const out: TestRecipients = { emails: [], push: [] };
  for (const entry of csv(raw)) {
    if (/^\d{1,15}$/.test(entry) && Number(entry) > 0) out.push.push(Number(entry));
    else if (emailSchema.safeParse(entry).success) out.emails.push(entry);
    else throw new Error(`TEST_RECIPIENTS: "${entry}" is neither an email address nor a push subscription id`);
  }
  return out;
}

const roleSchema = z.enum(EDITOR_ROLES);
export interface EditorToken { name: string; secret: string; role: EditorRole }
export interface RedisNode { host: string; port: number }
export interface RedisClusterAuth { username?: string; password?: string; tls: boolean }

/** `host:port,host:port` seeds of a Redis Cluster: ioredis discovers the other nodes from any of them. */
function parseClusterNodes(raw: string): RedisNode[] {
  const nodes = csv(raw).map((entry) => {
    // [v6]:port for IPv6, host:port otherwise.
    const m = /^(?:\[([0-9a-f:]+)\]|([a-z0-9.-]+)):(\d{1,5})$/i.exec(entry);
    const portNumber = Number(m?.[3]);
    if (!m || portNumber < 1 || portNumber > 65535) throw new Error(`REDIS_CLUSTER_NODES: entry "${entry}" must be host:port`);
    return { host: m[1] ?? m[2]!, port: portNumber };
  });
  if (nodes.length === 0) throw new Error('REDIS_CLUSTER_NODES: give at least one host:port');
  return nodes;
}

export interface PageTopic { slug: string; label: string }

function parsePageTopics(raw: string): PageTopic[] {
  const topics = csv(raw).map((entry) => {
    const at = entry.indexOf(':');
    const slug = at > 0 ? entry.slice(0, at).trim() : '';
    const label = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!topicSchema.safeParse(slug).success || label.length === 0 || label.length > 60) {
      throw new Error(`PAGE_TOPICS: entry "${entry}" must be slug:Label (slug in a-z, 0-9, -; label up to 60 characters)`);
    }
    return { slug, label };
  });
  if (topics.length > 20) throw new Error('PAGE_TOPICS: at most 20 topics (a subscription holds 20)');
  if (new Set(topics.map((t) => t.slug)).size !== topics.length) throw new Error('PAGE_TOPICS: a topic is listed twice');
  return topics;
}

function parseEditorTokens(raw: string): EditorToken[] {
  return csv(raw).map((entry) => {
    const [name, secret, role, ...rest] = entry.split(':');
    if (!name || !secret || rest.length > 0) throw new Error(`EDITOR_TOKENS: entry "${name ?? ''}:…" must be name:secret[:role]`);
    if (secret.length < 16) throw new Error(`EDITOR_TOKENS: the secret of "${name}" must be at least 16 characters`);
    const parsedRole = roleSchema.safeParse(role ?? 'editor');
    if (!parsedRole.success) throw new Error(`EDITOR_TOKENS: role of "${name}" must be editor or chief`);
    return { name, secret, role: parsedRole.data };
  });
}

const envSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  REDIS_URL: z.string().url().optional(),
  REDIS_CLUSTER_NODES: z.string().optional(),
  // Managed clusters want credentials and TLS; a single Redis has them in REDIS_URL (rediss://user:pass@…).
  REDIS_CLUSTER_USERNAME: z.string().optional(),
  REDIS_CLUSTER_PASSWORD: z.string().optional(),
  REDIS_CLUSTER_TLS: z.enum(['true', 'false', '1', '0']).default('false'),
  REDIS_PREFIX: z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'letters, digits, _ or - only').default('dp'),
  DATA_DIR: z.string().default('./data'),
  PUBLIC_BASE_URL: z.string().url().optional(),
  EDITOR_TOKENS: z.string().optional(),
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // Encrypts the generated secrets kept in Redis (see secrets.ts); without it they are stored in clear.
  SECRETS_KEY: z.string().min(32, 'must be at least 32 characters (npm run keys prints one)').optional(),
  VAPID_PUBLIC_KEY: z.string().optional(),
  VAPID_PRIVATE_KEY: z.string().optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:)/, 'must start with mailto: or https:').default('mailto:alertes@depeche.example'),
  PUSH_ALLOWED_ORIGINS: z.string().optional(),
  PUSH_TLS_CA_FILE: z.string().optional(),
  PUSH_TTL_SECONDS: z.string().optional(),
  PUSH_TIMEOUT_MS: positiveInt.default(10_000),
  PUSH_CONCURRENCY: positiveInt.max(1000).default(100),
  PUSH_MAX_ORIGINS: positiveInt.max(10_000).default(128),
  PUSH_RETRY_DELAY_MS: positiveInt.default(1000),
  PUSH_RETRY_MAX_DELAY_MS: positiveInt.default(60_000),
  WORKER_PROCESSES: positiveInt.max(64).optional(),
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be smtp:// or smtps://').optional(),
  SMTP_POOL_SIZE: positiveInt.max(100).default(8),
  SMTP_TIMEOUT_MS: positiveInt.default(30_000),
  MAIL_FROM: z.string().refine((v) => {
    const list = addressparser(v, { flatten: true });
    return list.length === 1 && /^[\x21-\x7e]+@[\x21-\x7e]+$/.test(list[0]!.address);
  }, 'must be one sender like "dépêche <alertes@exemple.fr>" (ASCII address)').default('dépêche <alertes@depeche.example>'),
  EMAIL_RATE_PER_SECOND: positiveInt.max(100_000).optional(),
  EMAIL_LANGUAGE: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'must be a language code like fr or fr-CA').default('fr'),
  CONFIRM_TTL: duration.default(7 * 86400),
  CONFIRM_RESEND_INTERVAL: duration.default(10 * 60),
  DKIM_DOMAIN: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a domain name like depeche.example').optional(),
  DKIM_SELECTOR: z.string().regex(/^[a-z0-9]([a-z0-9._-]{0,62})$/i, 'must be a DNS label like mail2024').optional(),
  DKIM_PRIVATE_KEY: z.string().optional(),
  BATCH_SIZE: z.coerce.number().int().refine((n) => [64, 128, 256, 512, 1024].includes(n), 'must be 64, 128, 256, 512 or 1024').default(512),
  WORKER_CONCURRENCY: positiveInt.max(64).default(4),
  BODY_LIMIT: z.string().default('16kb'),
  PAGE_TOPICS: z.string().default(DEFAULT_PAGE_TOPICS),
  MAX_TOPICS: positiveInt.max(10_000).default(200),
  CORS_ORIGINS: z.string().optional(),
  SUBSCRIBE_RATE_LIMIT: z.coerce.number().int().min(0).default(60),
  SUBSCRIBE_RATE_WINDOW_S: positiveInt.max(86_400).default(60),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(25_000),
  JOB_LOCK_MS: positiveInt.min(1000).default(30_000),
  SESSION_TTL_HOURS: positiveInt.max(24 * 30).default(12),
  SESSION_MAX_AGE: duration.refine((n) => n <= 30 * 86400, 'must be at most 30d').default(12 * 3600),
  SESSION_RECHECK_INTERVAL: duration.refine((n) => n <= 3600, 'must be at most 1h').default(30),
  SIGNIN_MAX_FAILURES: positiveInt.max(10_000).default(10),
  SIGNIN_WINDOW: duration.refine((n) => n <= 86400, 'must be at most 1d').default(600),
  TRUST_PROXY: z.string().optional(),
  METRICS_PORT: port.optional(),
  QUIET_HOURS: z.string().refine((w) => parseWindow(w) !== null, 'must look like 22:00-08:00').optional(),
  QUIET_WINDOWS: z.string().default(PAGE_QUIET_WINDOW),
  MAX_QUIET_GROUPS: positiveInt.max(100_000).default(200),
  MIN_ALERT_GAP: z.string().refine((d) => parseDuration(d) !== null, 'must be a duration such as 900, 90s, 15m or 1h').optional(),
  APPROVAL_THRESHOLD: z.coerce.number().int().min(0).optional(),
  TEST_RECIPIENTS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
});

export interface Config {
  http: {
    port: number; host: string; publicBaseUrl: string; bodyLimit: string;
    /** Origins whose pages may call the public endpoints from the browser (CORS); empty: same origin only. */
    corsOrigins: string[];
    /** Requests per IP per window on the public subscription endpoints; 0 turns the limit off. */
    subscribeRateLimit: { limit: number; windowMs: number };
    /** Console sessions end after this long without use. */
    sessionTtlSeconds: number;
    /** …and this long after sign-in, however busy. */
    sessionMaxAgeSeconds: number;
    /** How often an open event stream asks whether its session still stands. */
    sessionRecheckMs: number;
    /** Failed token checks allowed per client address in a window; the next attempt gets 429. */
    signIn: { maxFailures: number; windowMs: number };
    /** express's `trust proxy`: hop count or addresses/ranges of the proxies allowed to name the client. */
    trustProxy: TrustProxy;
  };
  /** Port of a worker-only process's own /metrics listener (the API serves /metrics itself). */
  metrics: { port?: number };
  /** Either `url` (one Redis) or `clusterNodes` (Redis Cluster seeds), never both; neither: private redis-server. */
  redis: { url?: string; clusterNodes?: RedisNode[]; clusterAuth?: RedisClusterAuth; prefix: string; dataDir: string };
  dataDir: string;
  editors: EditorToken[] | undefined; // undefined: generate one at first start
  tokenSecret: string | undefined; // undefined: generated once and kept in Redis (secrets.ts)
  /** Key that encrypts the generated secrets kept in Redis; undefined: stored in clear. */
  secretsKey?: string;
  push: {
    vapid: { publicKey?: string; privateKey?: string; subject: string };
    allowedOrigins: string[];
    tlsCaFile?: string;
    /** TTL header per urgency. */
    ttlSeconds: Record<Urgency, number>;
    timeoutMs: number;
    /** Requests in flight per push-service origin, per process. */
    concurrency: number;
    /** Push-service origins a process keeps a connection to at once (least recently used dropped). */
    maxOrigins: number;
    /** Backoff of retried batches: base delay, doubled per attempt, jittered, capped. */
    retryDelayMs: number;
    retryMaxDelayMs: number;
  };
  email: EmailConfig;
  /** processes: how many processes `npm start` runs delivery workers in (itself included). */
  delivery: {
    batchSize: number; workerConcurrency: number; processes: number;
    /** How long a worker's lock on a job lasts; a dead worker's batches come back after about twice this. */
    jobLockMs: number;
  };
  /** On SIGTERM: the longest a process waits for in-flight work before it gives up and exits 1. */
  shutdownTimeoutMs: number;
  /** The public subscribe page: the topics it offers as checkboxes. */
  page: { topics: PageTopic[] };
  /** How many topics editors may have at once (each costs a bitmap per channel). */
  topics: { max: number };
  /** The newsroom's rules: quiet hours, spacing, approval, the internal test list. */
  workflow: {
    /** Default quiet window for subscribers who chose none; undefined: no quiet hours. */
    quietHours?: DailyWindow;
    /** The windows subscribers may choose (QUIET_WINDOWS), and the cap on (time zone, window) groups. */
    quietWindows: DailyWindow[];
    maxQuietGroups: number;
    /** Minimum gap between two non-flash alerts, in ms; 0: off. */
    minAlertGapMs: number;
    /** Audiences larger than this wait for a chief's approval; undefined: never. */
    approvalThreshold?: number;
    testRecipients: TestRecipients;
  };
  logLevel: string;
  /** undefined: pretty when stdout is a terminal, JSON lines otherwise. */
  logFormat?: 'pretty' | 'json';
}

export interface DkimConfig { domainName: string; keySelector: string; privateKey: string }
export interface EmailConfig {
  smtpUrl?: string;
  poolSize: number;
  timeoutMs: number;
  from: string;
  /** Messages per second across every worker, for providers that cap it; undefined: no cap. */
  ratePerSecond?: number;
  language: string;
  confirmTtlSeconds: number;
  /** At most one confirmation mail per address per this many seconds. */
  confirmResendSeconds: number;
  dkim?: DkimConfig;
}

/** DKIM needs all three variables; the key must be a PEM private key (a one-line value with literal \n is accepted). */
function parseDkim(e: { DKIM_DOMAIN?: string; DKIM_SELECTOR?: string; DKIM_PRIVATE_KEY?: string }): DkimConfig | undefined {
  const set = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY].filter((v) => v !== undefined).length;
  if (set === 0) return undefined;
  if (set !== 3) throw new Error('configuration: DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY must be set together');
  const privateKey = e.DKIM_PRIVATE_KEY!.replace(/\\n/g, '\n');
  try {
    createPrivateKey(privateKey);
  } catch {
    throw new Error('configuration: DKIM_PRIVATE_KEY is not a PEM private key');
  }
  return { domainName: e.DKIM_DOMAIN!.toLowerCase(), keySelector: e.DKIM_SELECTOR!, privateKey };
}

/** Validates the environment; throws one Error whose message is a single clear line. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable (as docker compose passes for `${X:-}`) means "not set".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`configuration: ${String(issue?.path[0] ?? '?')} ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  refusePlaceholders(e);
  let editors: EditorToken[] | undefined;
  let pageTopics: PageTopic[];
  let testRecipients: TestRecipients;
  let trustProxy: TrustProxy;
  let quietWindows: DailyWindow[];
  try {
    trustProxy = parseTrustProxy(e.TRUST_PROXY);
    editors = e.EDITOR_TOKENS ? parseEditorTokens(e.EDITOR_TOKENS) : undefined;
    pageTopics = parsePageTopics(e.PAGE_TOPICS);
    testRecipients = parseTestRecipients(e.TEST_RECIPIENTS ?? '');
    quietWindows = parseQuietWindows(e.QUIET_WINDOWS);
  } catch (err) {
    throw new Error(`configuration: ${(err as Error).message}`);
  }
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new Error('configuration: set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (Redis Cluster), not both');
  }
  let clusterNodes: RedisNode[] | undefined;
  try {
    clusterNodes = e.REDIS_CLUSTER_NODES ? parseClusterNodes(e.REDIS_CLUSTER_NODES) : undefined;
  } catch (err) {
    throw new Error(`configuration: ${(err as Error).message}`);
  }
  if ((e.VAPID_PUBLIC_KEY === undefined) !== (e.VAPID_PRIVATE_KEY === undefined)) {
    throw new Error('configuration: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together');
  }
  let ttlSeconds: Record<Urgency, number>;
  try {
    ttlSeconds = parseTtls(e.PUSH_TTL_SECONDS);
  } catch (err) {
    throw new Error(`configuration: ${(err as Error).message}`);
  }
  const origins = e.PUSH_ALLOWED_ORIGINS ? csv(e.PUSH_ALLOWED_ORIGINS) : DEFAULT_PUSH_ORIGINS;
  for (const o of origins) {
    if (!/^https:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$|^https:\/\/\[[0-9a-f:]+\](:\d{1,5})?$/i.test(o)) {
      throw new Error(`configuration: PUSH_ALLOWED_ORIGINS entry "${o}" must look like https://host[:port] or https://*.domain`);
    }
  }
  const corsOrigins = csv(e.CORS_ORIGINS).map((o) => o.replace(/\/+$/, ''));
  for (const o of corsOrigins) {
    if (!/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(o)) throw new Error(`configuration: CORS_ORIGINS entry "${o}" must look like https://www.example.fr`);
  }
  return {
    http: {
      // Links in mails point at the port we listen on unless the operator says otherwise.
      port: e.PORT, host: e.HOST, publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''), bodyLimit: e.BODY_LIMIT,
      corsOrigins,
      subscribeRateLimit: { limit: e.SUBSCRIBE_RATE_LIMIT, windowMs: e.SUBSCRIBE_RATE_WINDOW_S * 1000 },
      sessionTtlSeconds: e.SESSION_TTL_HOURS * 3600,
      sessionMaxAgeSeconds: e.SESSION_MAX_AGE,
      sessionRecheckMs: e.SESSION_RECHECK_INTERVAL * 1000,
      signIn: { maxFailures: e.SIGNIN_MAX_FAILURES, windowMs: e.SIGNIN_WINDOW * 1000 },
      trustProxy,
    },
    metrics: { port: e.METRICS_PORT },
    redis: {
      url: e.REDIS_URL, clusterNodes,
      clusterAuth: clusterNodes ? { username: e.REDIS_CLUSTER_USERNAME, password: e.REDIS_CLUSTER_PASSWORD, tls: ['true', '1'].includes(e.REDIS_CLUSTER_TLS) } : undefined,
      prefix: e.REDIS_PREFIX, dataDir: e.DATA_DIR },
    dataDir: e.DATA_DIR,
    editors,
    tokenSecret: e.TOKEN_SECRET,
    secretsKey: e.SECRETS_KEY,
    push: {
      vapid: { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: e.VAPID_SUBJECT },
      allowedOrigins: origins,
      tlsCaFile: e.PUSH_TLS_CA_FILE,
      ttlSeconds,
      timeoutMs: e.PUSH_TIMEOUT_MS,
      concurrency: e.PUSH_CONCURRENCY,
      maxOrigins: e.PUSH_MAX_ORIGINS,
      retryDelayMs: e.PUSH_RETRY_DELAY_MS,
      retryMaxDelayMs: Math.max(e.PUSH_RETRY_MAX_DELAY_MS, e.PUSH_RETRY_DELAY_MS),
    },
    email: {
      smtpUrl: e.SMTP_URL, poolSize: e.SMTP_POOL_SIZE, timeoutMs: e.SMTP_TIMEOUT_MS, from: e.MAIL_FROM,
      ratePerSecond: e.EMAIL_RATE_PER_SECOND, language: e.EMAIL_LANGUAGE,
      confirmTtlSeconds: e.CONFIRM_TTL, confirmResendSeconds: e.CONFIRM_RESEND_INTERVAL,
      dkim: parseDkim(e),
    },
    delivery: { batchSize: e.BATCH_SIZE, workerConcurrency: e.WORKER_CONCURRENCY, processes: e.WORKER_PROCESSES ?? availableParallelism(), jobLockMs: e.JOB_LOCK_MS },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    page: { topics: pageTopics },
    topics: { max: e.MAX_TOPICS },
    workflow: {
      ...(e.QUIET_HOURS ? { quietHours: parseWindow(e.QUIET_HOURS)! } : {}),
      quietWindows, maxQuietGroups: e.MAX_QUIET_GROUPS,
      minAlertGapMs: e.MIN_ALERT_GAP ? parseDuration(e.MIN_ALERT_GAP)! : 0,
      ...(e.APPROVAL_THRESHOLD !== undefined ? { approvalThreshold: e.APPROVAL_THRESHOLD } : {}),
      testRecipients,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
  };
}
