// The shape of the validated configuration: typed slices handed to the parts that need them.
import type { DailyWindow } from '../quiet-hours';
import type { EditorRole, Lang, Urgency } from '../model';
import type { TrustProxy } from './trust-proxy';
import type { DigestTimes } from '../digest-clock';

export type { DailyWindow } from '../quiet-hours';
export interface TestRecipients {
  emails: string[];
  push: number[];
}
export interface EditorToken {
  name: string;
  secret: string;
  role: EditorRole;
}
export interface CmsSecret {
  name: string;
  /** `whsec_` and the base64 key, as the CMS is given it. */
  secret: string;
}
export interface RedisNode {
  host: string;
  port: number;
}
export interface RedisClusterAuth {
  username?: string;
  password?: string;
  tls: boolean;
}
export interface PageTopic {
  slug: string;
  label: string;
}

export interface Config {
  http: {
    port: number;
    host: string;
    publicBaseUrl: string;
    bodyLimit: string;
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
  /** The newsroom's delivery target: the report's `withinTarget` is the share accepted within it. */
  report: { targetSeconds: number };
  /** Either `url` (one Redis) or `clusterNodes` (Redis Cluster seeds), never both; neither: private redis-server. */
  redis: { url?: string; clusterNodes?: RedisNode[]; clusterAuth?: RedisClusterAuth; prefix: string; dataDir: string };
  dataDir: string;
  editors: EditorToken[] | undefined; // undefined: generate one at first start
  tokenSecret: string | undefined; // undefined: generated once and kept in Redis (secrets.ts)
  /** Key that encrypts the generated secrets kept in Redis; undefined: stored in clear. */
  secretsKey?: string;
  push: {
    vapid: { publicKey?: string; privateKey?: string; subject: string };
    /** VAPID_PREVIOUS_KEYS: older pairs, kept to sign for the subscriptions made with them. */
    previousKeys: { publicKey: string; privateKey: string }[];
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
    /** Declarative Web Push payloads for: apple subscriptions, every one, or none. */
    declarative: 'apple' | 'all' | 'off';
    /** Quarantine after `strikes` same non-auth 4xx refusals in a row over at least `days` days (0 strikes: off). */
    quarantine: { strikes: number; days: number };
  };
  email: EmailConfig;
  /**
   * processes: how many processes `npm start` and `npm run worker` run delivery workers in; with
   * more than one, `npm start` keeps its own process for the API (see main.ts).
   */
  delivery: {
    batchSize: number;
    workerConcurrency: number;
    /**
     * The flash lane: urgency-high alerts reaching at most `maxAudience` recipients join flashes
     * there, and each process serves it with `concurrency` batches per channel of its own.
     */
    priority: { maxAudience: number; concurrency: number };
    processes: number;
    /** How long a worker's lock on a job lasts; a dead worker's batches come back after about twice this. */
    jobLockMs: number;
  };
  /** On SIGTERM: the longest a process waits for in-flight work before it gives up and exits 1. */
  shutdownTimeoutMs: number;
  /** Daily digests: the times readers may choose (DIGEST_TIMES) and the cap on (time zone, time) groups. */
  digest: { times: DigestTimes; maxGroups: number };
  /** The public subscribe page: the topics it offers as checkboxes; the demo article outside production. */
  page: { topics: PageTopic[]; demoArticle: boolean };
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
  /** Signed outbound webhooks (Standard Webhooks). */
  webhooks: {
    /** Private, loopback and link-local targets accepted (tests, closed networks only). */
    allowPrivate: boolean;
    /** An endpoint failing without a single success for this long is disabled. */
    disableAfterMs: number;
    /** First retry delay, doubled per attempt. */
    retryDelayMs: number;
    /** Deadline of one delivery attempt, connection included. */
    timeoutMs: number;
    tlsCaFile?: string;
  };
  /** The CMS hook in: one Standard Webhooks secret per CMS, by name. */
  cms: { secrets: CmsSecret[] };
  logLevel: string;
  /** undefined: pretty when stdout is a terminal, JSON lines otherwise. */
  logFormat?: 'pretty' | 'json';
}

export interface DkimConfig {
  domainName: string;
  keySelector: string;
  privateKey: string;
}
export interface EmailConfig {
  smtpUrl?: string;
  poolSize: number;
  timeoutMs: number;
  from: string;
  /** Messages per second across every worker, for providers that cap it; undefined: no cap. */
  ratePerSecond?: number;
  /** The default language (EMAIL_LANGUAGE): alerts' default text, and readers who chose none. */
  language: Lang;
  confirmTtlSeconds: number;
  /** At most one confirmation mail per address per this many seconds. */
  confirmResendSeconds: number;
  dkim?: DkimConfig;
  bounce: BounceConfig;
}
/** Mail that comes back after the send: VERP envelope senders, the inbound listener, ESP webhooks. */
export interface BounceConfig {
  /** undefined: envelope sender is MAIL_FROM's address, as without VERP. */
  domain?: string;
  local: string;
  /** Port of the inbound SMTP listener; undefined: not started by `npm start`. */
  smtpPort?: number;
  maxBytes: number;
  /** Messages per peer address per minute. */
  ratePerMinute: number;
  mailgunSigningKey?: string;
  postmarkAuth?: string;
  /** SendGrid's signed event webhook: its P-256 verification key, base64 DER (SPKI). */
  sendgridPublicKey?: string;
}
