// `npm run inbound`: the bounce domain's SMTP listener alone, to sit behind the MX on its own
// machine or container. It shares Redis (and the token secret kept there) with the API and the
// workers, and needs BOUNCE_DOMAIN, BOUNCE_SMTP_PORT and REDIS_URL or REDIS_CLUSTER_NODES.
import { loadProcessConfig, type Config } from './config';
import { createLogger } from './log';
import { start, type Running } from './runtime';

async function run(): Promise<void> {
  let config: Config;
  try {
    config = loadProcessConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  if (config.email.bounce.smtpPort === undefined || (!config.redis.url && !config.redis.clusterNodes)) {
    console.error('npm run inbound needs BOUNCE_DOMAIN, BOUNCE_SMTP_PORT and REDIS_URL or REDIS_CLUSTER_NODES (the Redis the API uses).');
    process.exit(2);
  }
  const log = createLogger(config.logLevel, 'depeche-inbound', undefined, config.logFormat);
  const started: Promise<Running> = start(config, log, { api: false, worker: false, inbound: true });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    force.unref();
    await (await started.catch(() => undefined))?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await started;
}

run().catch((err: unknown) => {
  console.error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
