// Starts the API and/or the workers from a validated configuration, and stops them in order.
// main.ts, workers/main.ts and the tests all start the service through here.
import type { Server } from 'node:http';
import { Worker } from 'bullmq';
import type { Config } from './config';
import { fingerprint, resolveSecrets } from './secrets';
import type { Logger } from './log';
import { connectRedis, evictionPolicy, isRedisDown, waitReady, watchConnection, type RedisClient } from './store/redis';
import { createDomain, type Domain } from './services';
import { createQueues, QUEUE, type Queues } from './pipeline/queues';
import { createApp } from './http/app';
import { VapidRing } from './push/vapid';
import { PushSender } from './push/sender';
import { PushChannel } from './channels/push';
import { EmailChannel } from './channels/email';
import { createMailTransport } from './email/transport';
import { Pacer, paced } from './store/email-pacer';
import { fanoutProcessor } from './pipeline/fanout';
import { deliverProcessor, pushBackoff } from './pipeline/deliver';
import { mailProcessor } from './pipeline/mail';
import { webhookBackoff, webhookProcessor } from './pipeline/webhook';
import { emit, eventId, revisionDelivered } from './pipeline/events';
import { serveWorkerHttp } from './worker-http';
import { inboundFor } from './inbound/listener';

export interface Running {
  domain: Domain;
  queues: Queues;
  server?: Server;
  port?: number;
  /** Port of the inbound SMTP listener (bounces, complaints), when it runs in this process. */
  inboundPort?: number;
  /** Port of the worker-only /metrics listener, when METRICS_PORT is set. */
  metricsPort?: number;
  workers: Worker[];
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Aborts a start that is still waiting for an API to publish the shared secrets. */
  signal?: AbortSignal;
}

export async function start(
  config: Config,
  log: Logger,
  roles: { api: boolean; worker: boolean; inbound?: boolean },
  opts: StartOptions = {},
): Promise<Running> {
  if (!config.redis.url && !config.redis.clusterNodes)
    throw new Error('start: config.redis must name a Redis (url) or a cluster (clusterNodes)');
  const redis = connectRedis(config.redis, roles.api ? 'api' : 'worker');
  // BullMQ gets its own connection (a Cluster instance on a cluster); each Worker duplicates it
  // for its blocking wait, so that connection must keep retrying (maxRetriesPerRequest null).
  const bull = connectRedis(config.redis, 'worker');
  watchConnection(redis, roles.api ? 'api' : 'store', log);
  watchConnection(bull, 'queues', log);
  const closers: (() => Promise<unknown> | void)[] = [];
  let secrets: Awaited<ReturnType<typeof resolveSecrets>>;
  try {
    await waitReady(redis);
    await checkRedis(redis, log);
    secrets = await resolveSecrets(config, redis, { role: roles.api ? 'api' : 'worker', log, signal: opts.signal });
    // Every process says which key it signs with, so a mismatch between machines shows in the logs.
    log.info({ vapidKey: fingerprint(secrets.vapid.publicKey), source: secrets.vapidSource }, 'VAPID public key');
  } catch (err) {
    redis.disconnect();
    bull.disconnect();
    throw err;
  }
  const domain = createDomain(config, secrets, log, redis);
  if (roles.api) {
    const { over } = await domain.topics.migrate();
    if (over > 0)
      log.warn({ over, max: config.topics.max }, 'more topics than MAX_TOPICS: editors cannot create any until some are retired');
  }
  await domain.quiet.upgrade(log);
  // The API enqueues over its fail-fast connection, so a publish during a Redis outage gets a
  // quick 503 instead of waiting in an offline queue; workers enqueue over one that waits.
  const workerQueues = roles.worker ? createQueues(bull, domain.keys.queuePrefix) : undefined;
  const apiQueues = roles.api || !workerQueues ? createQueues(redis, domain.keys.queuePrefix) : undefined;
  const queues = (workerQueues ?? apiQueues)!;
  // Late bounces and complaints (inbound listener, providers' webhooks) are told to the webhooks,
  // in whichever role this process has: the API receives the providers' webhooks.
  domain.feedback.onSuppressed((subscriberId, kind, ref) =>
    emit(
      { ...domain, queues },
      {
        type: kind === 'bounced' ? 'subscriber.bounced' : 'subscriber.complained',
        id: eventId(kind === 'bounced' ? 'bounce' : 'complaint', subscriberId, ref?.alertId ?? 'report', ref?.rev ?? 0),
        data: {
          subscriberId,
          channel: 'email',
          ...(ref ? { alertId: ref.alertId, rev: ref.rev } : {}),
          reason: kind === 'bounced' ? 'late_bounce' : 'complaint',
        },
      },
    ),
  );
  const workers: Worker[] = [];
  const stopping = new AbortController();
  let sender: PushSender | undefined;
  if (workerQueues) {
    const started = startWorkers(domain, workerQueues, bull, closers, stopping.signal);
    workers.push(...started.workers);
    sender = started.sender;
    log.info({ concurrency: config.delivery.workerConcurrency }, 'workers started');
  }
  let metricsPort: number | undefined;
  if (roles.worker && !roles.api && config.metrics.port !== undefined) {
    const push = sender!;
    const metricsServer = await serveWorkerHttp(
      { metrics: domain.metrics, redis, workers, push: () => push.sessions() },
      config.http.host,
      config.metrics.port,
    );
    closers.push(
      () =>
        new Promise<void>((r) => {
          metricsServer.close(() => r());
          metricsServer.closeAllConnections();
        }),
    );
    const addr = metricsServer.address();
    metricsPort = typeof addr === 'object' && addr ? addr.port : config.metrics.port;
    log.info({ port: metricsPort }, 'worker /health and /metrics listening');
  }

  // The bounce domain's listener runs with the API under `npm start`, or alone (`npm run inbound`).
  let inboundPort: number | undefined;
  if (roles.inbound || (roles.api && config.email.bounce.smtpPort !== undefined)) {
    const inbound = await inboundFor(domain);
    closers.push(() => inbound.close());
    inboundPort = inbound.port;
  }
  let server: Server | undefined;
  let port: number | undefined;
  if (roles.api) {
    const app = createApp(domain, apiQueues!);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(config.http.port, config.http.host, () => resolve(s));
    });
    const addr = server.address();
    port = typeof addr === 'object' && addr ? addr.port : config.http.port;
    log.info({ port }, 'API listening');
  }
  return {
    domain,
    queues,
    server,
    port,
    inboundPort,
    metricsPort,
    workers,
    stop: async () => {
      if (server)
        await new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        });
      // Workers next: they take no new job, and each running batch lets the requests on the wire
      // finish, records their answers and goes back to the queue, before connections close.
      stopping.abort();
      await Promise.all(workers.map((w) => w.close()));
      for (const c of closers) await c();
      await Promise.all([workerQueues?.close(), apiQueues?.close()]);
      bull.disconnect();
      redis.disconnect();
    },
  };
}

/**
 * Start-up checks on the Redis we were given. An evicting Redis would silently drop subscribers,
 * outcome bits or queued batches under memory pressure: alerts lost or sent twice. Refuse it.
 */
async function checkRedis(redis: RedisClient, log: Logger): Promise<void> {
  const policy = await evictionPolicy(redis);
  if (policy === null) {
    log.warn('cannot read Redis maxmemory-policy (CONFIG is not available, as on managed Redis): make sure it is noeviction');
  } else if (policy !== 'noeviction') {
    throw new Error(
      `Redis maxmemory-policy is "${policy}" but dépêche needs "noeviction" (evicted keys would lose or re-send alerts): set maxmemory-policy noeviction in redis.conf or with CONFIG SET`,
    );
  }
}

function startWorkers(
  d: Domain,
  queues: Queues,
  connection: RedisClient,
  closers: (() => Promise<unknown> | void)[],
  stopping: AbortSignal,
): { workers: Worker[]; sender: PushSender } {
  const { config, log } = d;
  const prefix = d.keys.queuePrefix;
  const { email: mailConfig } = config;
  // Every email, alert or confirmation, goes through the same pool and the same rate budget.
  const pacer = mailConfig.ratePerSecond ? new Pacer(d.redis, d.keys.emailRate, mailConfig.ratePerSecond) : undefined;
  const transport = paced(createMailTransport({ ...mailConfig, dataDir: config.dataDir }, log), pacer);
  if (mailConfig.smtpUrl && !config.http.publicBaseUrl.startsWith('https://')) {
    log.warn('PUBLIC_BASE_URL is not https: mailbox providers ignore a List-Unsubscribe link that is not https');
  }
  // A reserved domain passes the start check (pushes go out) but no push service can write to it.
  if (/[.@](example|test|invalid)$/i.test(d.secrets.vapid.subject)) {
    log.warn('VAPID_SUBJECT is on a reserved domain (.example, .test, .invalid): set a contact push services can reach');
  }
  const sender = new PushSender(new VapidRing(d.secrets.vapid, config.push.previousKeys), d.allowlist, {
    timeoutMs: config.push.timeoutMs,
    maxInFlight: config.push.concurrency,
    caFile: config.push.tlsCaFile,
    maxOrigins: config.push.maxOrigins,
  });
  // Open the connections to the push services in use now, not when the first alert is sent
  // (only to named ones: the sender ignores hosts a stranger invented under a wildcard).
  void d.pushSubscribers
    .origins()
    .then((o) => sender.warm(o))
    .catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not open push connections ahead'));
  // Bounces and finished revisions are told to the webhooks through the same events module.
  const events = { ...d, queues };
  const bounced = (subscriberId: number, alertId?: string, rev?: number) =>
    emit(events, {
      type: 'subscriber.bounced',
      id: eventId('bounce', subscriberId, alertId ?? 'confirm', rev ?? 0),
      data: { subscriberId, channel: 'email', ...(alertId ? { alertId, rev } : {}), reason: 'hard_bounce' },
    });
  const push = new PushChannel(d.pushSubscribers, d.pushKeys, sender, d.tokens, {
    ttlSeconds: config.push.ttlSeconds,
    concurrency: config.push.concurrency,
    strings: d.renderer.strings,
    declarative: config.push.declarative,
    site: config.http.publicBaseUrl,
    testIds: config.workflow.testRecipients.push,
  });
  const email = new EmailChannel(
    d.emailSubscribers,
    d.renderer,
    transport,
    d.tokens,
    {
      // Two sends per pooled connection: one on the wire, one queued, so a connection never waits
      // while its lane records the previous answer (what keeps DKIM-signed runs at the pool's pace).
      baseUrl: config.http.publicBaseUrl,
      concurrency: mailConfig.poolSize * 2,
      messageIdDomain: d.messageIdDomain,
      from: mailConfig.from,
      testAddresses: config.workflow.testRecipients.emails,
      ...(mailConfig.bounce.domain ? { bounce: { local: mailConfig.bounce.local, domain: mailConfig.bounce.domain } } : {}),
      onBounced: (id, alert) => bounced(id, alert.id, alert.rev),
    },
    d.suppressions,
  );
  closers.push(
    () => push.close(),
    () => email.close(),
  );
  const deliver = deliverProcessor({
    alerts: d.alerts,
    progress: d.progress,
    channels: { push, email },
    log,
    stopping,
    metrics: d.metrics,
    rateLimit: (ch, ms) => queues[ch].rateLimit(ms),
    onDelivered: (alertId, rev) => revisionDelivered(events, alertId, rev),
  });
  const concurrency = config.delivery.workerConcurrency;
  // A batch whose worker died comes back after its lock expires. Running a batch twice is safe
  // (settled recipients are skipped), so a batch is never failed for having stalled a few times.
  const lock = { lockDuration: config.delivery.jobLockMs, stalledInterval: config.delivery.jobLockMs, maxStalledCount: 10 };
  const workers = [
    new Worker(
      QUEUE.fanout,
      fanoutProcessor({ ...d, queues, batchSize: config.delivery.batchSize, workflow: config.workflow, recipients: { push, email } }),
      {
        connection,
        prefix,
        concurrency: 2,
        ...lock,
      },
    ),
    new Worker(QUEUE.push, deliver, {
      connection,
      prefix,
      concurrency,
      ...lock,
      // BullMQ only honours a queue-wide pause (our answer to 429) on workers that have a limiter;
      // this one is far above any real rate, so it never limits anything by itself.
      limiter: { max: 1_000_000, duration: 1000 },
      settings: { backoffStrategy: pushBackoff(config.push.retryDelayMs, config.push.retryMaxDelayMs) },
    }),
    new Worker(QUEUE.email, deliver, { connection, prefix, concurrency, ...lock }),
    new Worker(
      QUEUE.mail,
      mailProcessor({
        subscribers: d.emailSubscribers,
        suppressions: d.suppressions,
        renderer: d.renderer,
        transport,
        tokens: d.tokens,
        baseUrl: config.http.publicBaseUrl,
        confirmTtlSeconds: mailConfig.confirmTtlSeconds,
        messageIdDomain: d.messageIdDomain,
        onBounced: (id) => bounced(id),
      }),
      { connection, prefix, concurrency: 4, ...lock },
    ),
    new Worker(QUEUE.webhook, webhookProcessor({ webhooks: d.webhooks, emailSubscribers: d.emailSubscribers, log, ...config.webhooks }), {
      connection,
      prefix,
      concurrency: 8,
      ...lock,
      settings: { backoffStrategy: webhookBackoff(config.webhooks.retryDelayMs) },
    }),
  ];
  for (const w of workers) {
    w.on('failed', (job, err) => log.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed'));
    // Connection trouble is told once by watchConnection; each worker would repeat it per retry.
    w.on('error', (err) => {
      if (!isRedisDown(err)) log.error({ queue: w.name, err: err.message }, 'worker error');
    });
  }
  return { workers, sender };
}
