// Builds the domain objects once from the validated configuration. Both the API and the workers
// start from here; nothing below reads the environment.
import type { Config } from './config';
import type { Secrets } from './secrets';
import type { Logger } from './log';
import { keys as makeKeys, type Keys } from './store/keys';
import type { RedisClient } from './store/redis';
import { Topics } from './store/topics';
import { Audience } from './store/audience';
import { PushSubscribers } from './store/push-subscribers';
import { EmailSubscribers } from './store/email-subscribers';
import { Alerts } from './store/alerts';
import { Progress } from './store/progress';
import { QuietGroups } from './store/quiet';
import { DigestStore } from './store/digest';
import { IdempotencyKeys } from './store/idempotency';
import { AuditLog } from './store/audit';
import { Spacing } from './store/spacing';
import { TokenSigner } from './tokens';
import { Renderer } from './email/render';
import { PushKeys } from './store/push-keys';
import { PushQuarantine } from './store/push-quarantine';
import { parseAllowlist, type OriginRule } from './push/allowlist';
import { Sessions } from './store/sessions';
import { Metrics } from './metrics';
import { Suppressions } from './store/suppressions';
import { SoftBounces } from './store/soft-bounces';
import { MailFeedback } from './pipeline/feedback';
import { Webhooks } from './store/webhooks';
import { CmsPosts } from './store/cms-posts';
import { DeliveryReports } from './store/delivery-report';

export interface Domain {
  config: Config;
  secrets: Secrets;
  log: Logger;
  redis: RedisClient;
  keys: Keys;
  topics: Topics;
  audience: Audience;
  pushSubscribers: PushSubscribers;
  /** Which VAPID key each push subscriber was made with (key rotation). */
  pushKeys: PushKeys;
  /** Subscriptions refused again and again for a reason of theirs: counted, then no longer sent to. */
  pushQuarantine: PushQuarantine;
  emailSubscribers: EmailSubscribers;
  /** Addresses never mailed again (bounces, complaints, editors' entries). */
  suppressions: Suppressions;
  /** Soft bounces « three in a row » (the feedback counts them, the email channel's accepted sends break a row). */
  softBounces: SoftBounces;
  /** What a bounce or complaint that comes back after the send does. */
  feedback: MailFeedback;
  alerts: Alerts;
  progress: Progress;
  reports: DeliveryReports;
  quiet: QuietGroups;
  digests: DigestStore;
  idempotency: IdempotencyKeys;
  audit: AuditLog;
  spacing: Spacing;
  tokens: TokenSigner;
  /** Speaks the newsroom's language (EMAIL_LANGUAGE); `renderer.in(lang)` a reader's. */
  renderer: Renderer;
  allowlist: OriginRule[];
  sessions: Sessions;
  /** Outbound webhook endpoints and their delivery logs. */
  webhooks: Webhooks;
  /** The CMS hook's memory: post → alert, last revision seen. */
  cmsPosts: CmsPosts;
  /** This process's Prometheus registry (one per domain, so tests can run several stacks). */
  metrics: Metrics;
  /** Domain part for Message-IDs: our public host. */
  messageIdDomain: string;
}

export function createDomain(config: Config, secrets: Secrets, log: Logger, redis: RedisClient): Domain {
  const k = makeKeys(config.redis.prefix);
  const topics = new Topics(redis, k, { max: config.topics.max, declared: config.page.topics });
  const audience = new Audience(redis, k);
  const quiet = new QuietGroups(redis, k, audience, {
    maxGroups: config.workflow.maxQuietGroups,
    windows: config.workflow.quietWindows,
    log,
  });
  const progress = new Progress(redis, k);
  const reports = new DeliveryReports(redis, k, config.report.targetSeconds);
  const suppressions = new Suppressions(redis, k);
  const softBounces = new SoftBounces(redis, k);
  const alerts = new Alerts(redis, k, progress, reports);
  const digests = new DigestStore(redis, k, { maxGroups: config.digest.maxGroups, log });
  const emailSubscribers = new EmailSubscribers(redis, k, topics, audience, quiet, digests, suppressions);
  return {
    config,
    secrets,
    log,
    redis,
    keys: k,
    topics,
    audience,
    quiet,
    digests,
    progress,
    reports,
    pushSubscribers: new PushSubscribers(redis, k, topics, audience, quiet, parseAllowlist(config.push.allowedOrigins)),
    pushQuarantine: new PushQuarantine(redis, k, config.push.quarantine),
    pushKeys: new PushKeys(redis, k, [secrets.vapid.publicKey, ...config.push.previousKeys.map((p) => p.publicKey)]),
    emailSubscribers,
    suppressions,
    softBounces,
    feedback: new MailFeedback({ alerts, subscribers: emailSubscribers, suppressions, softBounces, log }),
    alerts,
    idempotency: new IdempotencyKeys(redis, k),
    audit: new AuditLog(redis, k),
    spacing: new Spacing(redis, k),
    tokens: new TokenSigner(secrets.tokenSecret),
    renderer: Renderer.forLanguages(config.email.language),
    allowlist: parseAllowlist(config.push.allowedOrigins),
    sessions: new Sessions(
      redis,
      k,
      { idleSeconds: config.http.sessionTtlSeconds, maxAgeSeconds: config.http.sessionMaxAgeSeconds },
      secrets.editors,
      secrets.tokenSecret,
    ),
    webhooks: new Webhooks(redis, k, config.secretsKey),
    cmsPosts: new CmsPosts(redis, k),
    metrics: new Metrics({ processMetrics: true }),
    messageIdDomain: new URL(config.http.publicBaseUrl).hostname,
  };
}
