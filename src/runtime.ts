// Starts the API and/or the workers from a validated configuration, and stops them in order.
// main.ts, workers/main.ts and the tests all start the service through here.
import type { Server } from 'node:http';
import { Worker } from 'bullmq';
import type { Config } from './config';
import { fingerprint, resolveSecrets } from './secrets';
import type { Logger } from './log';
import { connectRedis, evictionPolicy, waitReady, watchConnection, type RedisClient } from './store/redis';
import { createDomain, type Domain } from './services';
import { createQueues, type Queues } from './pipeline/queues';
import { createApp } from './http/app';
import { PushSender } from './push/sender';
import { emit, eventId } from './pipeline/events';
import { scheduleDigests } from './pipeline/digest';
import { startWorkers } from './run-workers';
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
    // Every worker process registers the same minute tick; the upsert keeps one scheduler.
    await scheduleDigests(workerQueues.digest);
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
    // Idle keep-alive connections must outlive the client's and the proxy's (nginx and most load
    // balancers keep upstream connections ~60 s): with Node's 5 s, a client reusing a connection
    // the server is closing at that instant gets a reset instead of an answer.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
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
