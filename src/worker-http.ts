// A worker-only process has no express app: a bare listener on METRICS_PORT answers GET /metrics
// (this process and the delivery processes it forked, see metrics.ts) and GET /health, which a
// container orchestrator polls: 200 while Redis answers and every queue has its worker running,
// 503 otherwise. Push connections are reported, not judged: a worker that has not sent yet has none.
import { createServer, type Server } from 'node:http';
import type { Worker } from 'bullmq';
import type { Metrics } from './metrics';
import type { RedisClient } from './store/redis';

export interface WorkerHealthSources {
  metrics: Metrics;
  redis: RedisClient;
  workers: readonly Worker[];
  push: () => { origins: number; open: number; closed: boolean };
}

const PING_TIMEOUT_MS = 1000;

async function redisAnswers(redis: RedisClient): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function workerHealth(s: WorkerHealthSources): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const redis = await redisAnswers(s.redis);
  const queues = Object.fromEntries(s.workers.map((w) => [w.name, w.isRunning() ? 'running' : 'stopped']));
  const push = s.push();
  const ok = redis && s.workers.every((w) => w.isRunning()) && !push.closed;
  return {
    ok,
    body: {
      status: ok ? 'ok' : 'unavailable',
      redis: redis ? 'ok' : 'unreachable',
      queues,
      push: { origins: push.origins, open: push.open },
    },
  };
}

export function serveWorkerHttp(s: WorkerHealthSources, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/health')) {
      res.writeHead(404).end();
      return;
    }
    if (req.url === '/health') {
      void workerHealth(s).then(({ ok, body }) => {
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      return;
    }
    s.metrics.exposition().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType }).end(body);
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
