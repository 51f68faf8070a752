// Configuration is read and validated here, once, at start. Nothing else in the project touches
// process.env: the rest of the code receives typed slices of the object built here.
import { availableParallelism } from 'node:os';
import { parseQuietWindows, parseWindow } from '../quiet-hours';
import { parseDigestTimes, type DigestTimes } from '../digest-clock';
import type { Urgency } from '../model';
import { envSchema } from './env';
import {
  csv,
  DEFAULT_PUSH_ORIGINS,
  parseClusterNodes,
  parseDkim,
  parseEditorTokens,
  parsePageTopics,
  parseTestRecipients,
  parseTtls,
  parseCmsSecrets,
} from './lists';
import { refusePlaceholders } from './placeholders';
import { checkVapidSubject } from './vapid-subject';
import { parseTrustProxy, type TrustProxy } from './trust-proxy';
import type { CmsSecret, Config, DailyWindow, EditorToken, PageTopic, RedisNode, TestRecipients } from './types';

export type * from './types';

/** The process's own environment, read here only: for the start, and for the processes it forks. */
export const loadProcessConfig = (): Config => loadConfig(process.env);
export const childEnvironment = (overrides: Record<string, string>): NodeJS.ProcessEnv => ({ ...process.env, ...overrides });

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
  checkVapidSubject(e.VAPID_SUBJECT);
  let editors: EditorToken[] | undefined;
  let pageTopics: PageTopic[];
  let testRecipients: TestRecipients;
  let trustProxy: TrustProxy;
  let quietWindows: DailyWindow[];
  let cmsSecrets: CmsSecret[];
  let digestTimes: DigestTimes;
  try {
    cmsSecrets = parseCmsSecrets(e.CMS_HOOK_SECRETS ?? '');
    trustProxy = parseTrustProxy(e.TRUST_PROXY);
    editors = e.EDITOR_TOKENS ? parseEditorTokens(e.EDITOR_TOKENS) : undefined;
    pageTopics = parsePageTopics(e.PAGE_TOPICS);
    testRecipients = parseTestRecipients(e.TEST_RECIPIENTS ?? '');
    quietWindows = parseQuietWindows(e.QUIET_WINDOWS);
    digestTimes = parseDigestTimes(e.DIGEST_TIMES);
  } catch (err) {
    throw new Error(`configuration: ${(err as Error).message}`, { cause: err });
  }
  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    throw new Error('configuration: set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (Redis Cluster), not both');
  }
  let clusterNodes: RedisNode[] | undefined;
  try {
    clusterNodes = e.REDIS_CLUSTER_NODES ? parseClusterNodes(e.REDIS_CLUSTER_NODES) : undefined;
  } catch (err) {
    throw new Error(`configuration: ${(err as Error).message}`, { cause: err });
  }
  if ((e.VAPID_PUBLIC_KEY === undefined) !== (e.VAPID_PRIVATE_KEY === undefined)) {
    throw new Error('configuration: VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together');
  }
  let ttlSeconds: Record<Urgency, number>;
  try {
    ttlSeconds = parseTtls(e.PUSH_TTL_SECONDS);
  } catch (err) {
    throw new Error(`configuration: ${(err as Error).message}`, { cause: err });
  }
  const origins = e.PUSH_ALLOWED_ORIGINS ? csv(e.PUSH_ALLOWED_ORIGINS) : DEFAULT_PUSH_ORIGINS;
  for (const o of origins) {
    if (!/^(https:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?|https:\/\/\[[0-9a-f:]+\](:\d{1,5})?)(=(fcm|mozilla|apple|wns|other))?$/i.test(o)) {
      throw new Error(
        `configuration: PUSH_ALLOWED_ORIGINS entry "${o}" must look like https://host[:port] or https://*.domain, optionally followed by =fcm, =mozilla, =apple, =wns or =other`,
      );
    }
  }
  const previousKeys = csv(e.VAPID_PREVIOUS_KEYS).map((pair) => {
    const m = /^([A-Za-z0-9_-]{87}):([A-Za-z0-9_-]{43})$/.exec(pair);
    if (!m)
      throw new Error(
        'configuration: VAPID_PREVIOUS_KEYS must be comma-separated public:private VAPID pairs (base64url, as npm run keys prints them)',
      );
    return { publicKey: m[1], privateKey: m[2] };
  });
  if (e.BOUNCE_SMTP_PORT !== undefined && !e.BOUNCE_DOMAIN) {
    throw new Error('configuration: BOUNCE_SMTP_PORT needs BOUNCE_DOMAIN (the domain whose VERP addresses it accepts)');
  }
  const corsOrigins = csv(e.CORS_ORIGINS).map((o) => o.replace(/\/+$/, ''));
  for (const o of corsOrigins) {
    if (!/^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(o))
      throw new Error(`configuration: CORS_ORIGINS entry "${o}" must look like https://www.example.fr`);
  }
  return {
    http: {
      // Links in mails point at the port we listen on unless the operator says otherwise.
      port: e.PORT,
      host: e.HOST,
      publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
      bodyLimit: e.BODY_LIMIT,
      corsOrigins,
      subscribeRateLimit: { limit: e.SUBSCRIBE_RATE_LIMIT, windowMs: e.SUBSCRIBE_RATE_WINDOW_S * 1000 },
      sessionTtlSeconds: e.SESSION_TTL_HOURS * 3600,
      sessionMaxAgeSeconds: Math.ceil(e.SESSION_MAX_AGE / 1000),
      sessionRecheckMs: e.SESSION_RECHECK_INTERVAL,
      signIn: { maxFailures: e.SIGNIN_MAX_FAILURES, windowMs: e.SIGNIN_WINDOW },
      trustProxy,
    },
    metrics: { port: e.METRICS_PORT },
    report: { targetSeconds: e.DELIVERY_TARGET_SECONDS },
    redis: {
      url: e.REDIS_URL,
      clusterNodes,
      clusterAuth: clusterNodes
        ? { username: e.REDIS_CLUSTER_USERNAME, password: e.REDIS_CLUSTER_PASSWORD, tls: ['true', '1'].includes(e.REDIS_CLUSTER_TLS) }
        : undefined,
      prefix: e.REDIS_PREFIX,
      dataDir: e.DATA_DIR,
    },
    dataDir: e.DATA_DIR,
    editors,
    tokenSecret: e.TOKEN_SECRET,
    secretsKey: e.SECRETS_KEY,
    push: {
      vapid: { publicKey: e.VAPID_PUBLIC_KEY, privateKey: e.VAPID_PRIVATE_KEY, subject: e.VAPID_SUBJECT },
      previousKeys,
      allowedOrigins: origins,
      tlsCaFile: e.PUSH_TLS_CA_FILE,
      ttlSeconds,
      timeoutMs: e.PUSH_TIMEOUT_MS,
      concurrency: e.PUSH_CONCURRENCY,
      maxOrigins: e.PUSH_MAX_ORIGINS,
      retryDelayMs: e.PUSH_RETRY_DELAY_MS,
      retryMaxDelayMs: Math.max(e.PUSH_RETRY_MAX_DELAY_MS, e.PUSH_RETRY_DELAY_MS),
      declarative: e.PUSH_DECLARATIVE,
      quarantine: { strikes: e.PUSH_QUARANTINE_STRIKES, days: e.PUSH_QUARANTINE_DAYS },
    },
    email: {
      smtpUrl: e.SMTP_URL,
      poolSize: e.SMTP_POOL_SIZE,
      timeoutMs: e.SMTP_TIMEOUT_MS,
      from: e.MAIL_FROM,
      ratePerSecond: e.EMAIL_RATE_PER_SECOND,
      language: e.EMAIL_LANGUAGE,
      confirmTtlSeconds: Math.ceil(e.CONFIRM_TTL / 1000),
      confirmResendSeconds: Math.ceil(e.CONFIRM_RESEND_INTERVAL / 1000),
      dkim: parseDkim(e),
      bounce: {
        domain: e.BOUNCE_DOMAIN?.toLowerCase(),
        local: e.BOUNCE_LOCAL,
        smtpPort: e.BOUNCE_SMTP_PORT,
        maxBytes: e.BOUNCE_MAX_BYTES,
        ratePerMinute: e.BOUNCE_RATE_LIMIT,
        mailgunSigningKey: e.MAILGUN_WEBHOOK_SIGNING_KEY,
        postmarkAuth: e.POSTMARK_WEBHOOK_AUTH,
        sendgridPublicKey: e.SENDGRID_WEBHOOK_PUBLIC_KEY,
      },
    },
    delivery: {
      batchSize: e.BATCH_SIZE,
      workerConcurrency: e.WORKER_CONCURRENCY,
      priority: { maxAudience: e.PRIORITY_MAX_AUDIENCE, concurrency: e.PRIORITY_CONCURRENCY },
      processes: e.WORKER_PROCESSES ?? availableParallelism(),
      jobLockMs: e.JOB_LOCK_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    digest: { times: digestTimes, maxGroups: e.MAX_DIGEST_GROUPS },
    page: { topics: pageTopics, demoArticle: e.NODE_ENV !== 'production' },
    topics: { max: e.MAX_TOPICS },
    workflow: {
      ...(e.QUIET_HOURS ? { quietHours: parseWindow(e.QUIET_HOURS)! } : {}),
      quietWindows,
      maxQuietGroups: e.MAX_QUIET_GROUPS,
      minAlertGapMs: e.MIN_ALERT_GAP ?? 0,
      ...(e.APPROVAL_THRESHOLD !== undefined ? { approvalThreshold: e.APPROVAL_THRESHOLD } : {}),
      testRecipients,
    },
    webhooks: {
      allowPrivate: ['true', '1'].includes(e.WEBHOOK_ALLOW_PRIVATE),
      disableAfterMs: e.WEBHOOK_DISABLE_AFTER,
      retryDelayMs: e.WEBHOOK_RETRY_DELAY,
      timeoutMs: e.WEBHOOK_TIMEOUT,
      ...(e.WEBHOOK_TLS_CA_FILE ? { tlsCaFile: e.WEBHOOK_TLS_CA_FILE } : {}),
    },
    cms: { secrets: cmsSecrets },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
  };
}
