// The worker side of a process: the push and email channels, and one BullMQ worker per queue bound
// to its processor. runtime.ts calls it when the process delivers (npm start, npm run worker).
import { Worker, type Job } from 'bullmq';
import type { Domain } from './services';
import type { Queues } from './pipeline/queues';
import { QUEUE } from './pipeline/queues';
import { isRedisDown, type RedisClient } from './store/redis';
import { VapidRing } from './push/vapid';
import { PushSender } from './push/sender';
import { PushChannel } from './channels/push';
import { EmailChannel } from './channels/email';
import { createMailTransport } from './email/transport';
import { Pacer, paced } from './store/email-pacer';
import { fanoutProcessor } from './pipeline/fanout';
import { deliverProcessor, deliveryQueue, pushBackoff, type DeliveryJob } from './pipeline/deliver';
import { LaneGate } from './pipeline/lanes';
import { mailProcessor } from './pipeline/mail';
import { webhookBackoff, webhookProcessor } from './pipeline/webhook';
import { emit, eventId, revisionDelivered } from './pipeline/events';
import { digestProcessor } from './pipeline/digest';
import { DigestCache } from './pipeline/digest-content';
import type { Channel } from './model';

export function startWorkers(
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
    strings: (lang) => d.renderer.in(lang).strings,
    defaultLang: d.renderer.lang,
    declarative: config.push.declarative,
    site: config.http.publicBaseUrl,
    testIds: config.workflow.testRecipients.push,
    quarantine: d.pushQuarantine,
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
      softBounces: d.softBounces,
    },
    d.suppressions,
  );
  closers.push(
    () => push.close(),
    () => email.close(),
  );
  // Two processors over the same channels: the normal lane's pauses between recipients while a
  // flash batch of its channel runs in this process. A 429 pauses both lanes of the channel: the
  // push service limits all our traffic, whichever queue a batch came from.
  const gates = { push: new LaneGate(), email: new LaneGate() };
  const rateLimit = async (ch: Channel, ms: number) => {
    await Promise.all([deliveryQueue(queues, ch, 'normal').rateLimit(ms), deliveryQueue(queues, ch, 'flash').rateLimit(ms)]);
  };
  const deliverDeps = {
    alerts: d.alerts,
    progress: d.progress,
    channels: { push, email },
    log,
    stopping,
    metrics: d.metrics,
    rateLimit,
    onDelivered: (alertId: string, rev: number) => revisionDelivered(events, alertId, rev),
  };
  const deliver = deliverProcessor({ ...deliverDeps, paused: (ch) => gates[ch].passage() });
  const deliverFlashBatch = deliverProcessor(deliverDeps);
  const deliverFlash = (job: Job<DeliveryJob>, token?: string) => gates[job.data.channel].during(() => deliverFlashBatch(job, token));
  const { workerConcurrency: concurrency, priority } = config.delivery;
  // A batch whose worker died comes back after its lock expires. Running a batch twice is safe
  // (settled recipients are skipped), so a batch is never failed for having stalled a few times.
  const lock = { lockDuration: config.delivery.jobLockMs, stalledInterval: config.delivery.jobLockMs, maxStalledCount: 10 };
  const pushOptions = {
    connection,
    prefix,
    ...lock,
    // BullMQ only honours a queue-wide pause (our answer to 429) on workers that have a limiter;
    // this one is far above any real rate, so it never limits anything by itself.
    limiter: { max: 1_000_000, duration: 1000 },
    settings: { backoffStrategy: pushBackoff(config.push.retryDelayMs, config.push.retryMaxDelayMs) },
  };
  const workers = [
    new Worker(
      QUEUE.fanout,
      fanoutProcessor({
        ...d,
        queues,
        batchSize: config.delivery.batchSize,
        workflow: config.workflow,
        recipients: { push, email },
        holdLanes: (chs) => {
          const releases = chs.map((ch) => gates[ch].hold());
          return () => {
            for (const r of releases) r();
          };
        },
      }),
      {
        connection,
        prefix,
        concurrency: 2,
        ...lock,
      },
    ),
    new Worker(QUEUE.push, deliver, { ...pushOptions, concurrency }),
    new Worker(QUEUE.email, deliver, { connection, prefix, concurrency, ...lock }),
    // The flash lane's reserved slots: taken at once however busy the normal lane is.
    new Worker(QUEUE.pushFlash, deliverFlash, { ...pushOptions, concurrency: priority.concurrency }),
    new Worker(QUEUE.emailFlash, deliverFlash, { connection, prefix, concurrency: priority.concurrency, ...lock }),
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
    new Worker(
      QUEUE.digest,
      digestProcessor({
        digests: d.digests,
        subscribers: d.emailSubscribers,
        suppressions: d.suppressions,
        cache: new DigestCache({
          alerts: d.alerts,
          progress: d.progress,
          renderer: d.renderer,
          from: mailConfig.from,
          listId: `<alertes.${d.messageIdDomain}>`,
        }),
        transport,
        tokens: d.tokens,
        log,
        queue: queues.digest,
        baseUrl: config.http.publicBaseUrl,
        messageIdDomain: d.messageIdDomain,
        batchSize: config.delivery.batchSize,
        concurrency: mailConfig.poolSize * 2,
      }),
      { connection, prefix, concurrency: 2, ...lock },
    ),
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
