// Entry point. `npm start` with WORKER_PROCESSES = 1 (the default on one core): API and workers in
// one process. With more (default: one per core): the API alone in this process, and
// WORKER_PROCESSES forked delivery processes, so whatever the workers do, the API's event loop
// stays free for editors and readers. `npm run api` (--api): API only.
// Without REDIS_URL or REDIS_CLUSTER_NODES, `npm start` runs a private redis-server under DATA_DIR and stops it on exit.
import { join } from 'node:path';
import { childEnvironment, loadProcessConfig, type Config } from './config';
import { createLogger } from './log';
import { privateDir } from './data-dir';
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from './store/private-redis';
import { start, type Running } from './runtime';
import { answerMetricsRequests, forkWorkerProcesses, type WorkerProcesses } from './worker-processes';

export async function main(argv: string[], roles: { api: boolean; worker: boolean }): Promise<void> {
  let config: Config;
  try {
    config = loadProcessConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const log = createLogger(config.logLevel, 'depeche', undefined, config.logFormat);
  privateDir(config.dataDir);
  let privateRedis: PrivateRedis | undefined;
  if (!config.redis.url && !config.redis.clusterNodes) {
    if (roles.api !== roles.worker) {
      console.error(
        `${argv.includes('--api') ? 'npm run api' : 'npm run worker'} needs REDIS_URL or REDIS_CLUSTER_NODES: the API and the workers must share one Redis.`,
      );
      process.exit(2);
    }
    if (!redisServerAvailable()) {
      console.error(
        'REDIS_URL is not set and redis-server is not installed. Install it (apt-get install redis-server), or run `docker compose up redis` and set REDIS_URL=redis://127.0.0.1:6379.',
      );
      process.exit(2);
    }
    privateRedis = await startPrivateRedis(join(config.dataDir, 'redis'));
    config = { ...config, redis: { ...config.redis, url: privateRedis.url } };
    log.info({ port: privateRedis.port }, 'started a private redis-server (AOF on, noeviction)');
  }
  // SIGTERM (docker stop, systemd, Kubernetes): take no new request or job, let the requests on
  // the wire finish, hand running batches back to the queue, then exit 0. Past the deadline we
  // exit 1 and the batches still held come back to other workers when their locks expire.
  // The handlers are in place before start, so a signal during start still shuts down cleanly.
  let stopping = false;
  let forks: WorkerProcesses | undefined;
  const starting = new AbortController();
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    starting.abort();
    const t0 = Date.now();
    log.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down');
    const force = setTimeout(() => {
      log.error({ afterMs: Date.now() - t0 }, 'shutdown deadline passed: exiting with work still held');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    // Signals are handled on the event loop, so `started` below is always set by then.
    const running = await started.catch(() => undefined);
    await Promise.all([running?.stop(), forks?.stop()]);
    await privateRedis?.stop();
    log.info({ tookMs: Date.now() - t0 }, 'stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // A forked worker process must not outlive the process that started it.
  if (process.send) process.on('disconnect', () => void shutdown('parent exited'));
  // Several processes: the API keeps this one to itself and every delivery worker runs in a fork.
  const apiAlone = roles.api && roles.worker && config.delivery.processes > 1;
  const own = apiAlone ? { ...roles, worker: false } : roles;
  const started: Promise<Running> = start(config, log, own, { signal: starting.signal });
  // A SIGTERM while start waits (for an API's secrets) ends it: shutdown then exits 0.
  const running = await started.catch((err: unknown) => {
    if (stopping) return undefined;
    throw err;
  });
  if (!running) return;
  const { generatedEditor } = running.domain.secrets;
  if (generatedEditor) console.log(`\nEditor token generated (shown once, keep it): ${generatedEditor.secret}\n`);
  if (process.send) answerMetricsRequests(running.domain.metrics);
  // Children inherit this environment with Redis resolved; they read the same secrets from Redis.
  if (roles.worker && config.delivery.processes > 1 && !stopping) {
    const children = apiAlone ? config.delivery.processes : config.delivery.processes - 1;
    forks = forkWorkerProcesses(children, childEnvironment(config.redis.url ? { REDIS_URL: config.redis.url } : {}), log);
    const forked = forks;
    running.domain.metrics.addSource(() => forked.collect());
  }
}

if (require.main === module) {
  const api = process.argv.includes('--api');
  main(process.argv, { api: true, worker: !api }).catch((err: unknown) => {
    console.error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
