// Using every core. A push costs ~230 µs of a worker's CPU (measured by the bench), half of it the
// per-message ECDH and encryption RFC 8291 requires, the rest HTTP/2, TLS, Redis and BullMQ; one
// Node process tops out at one core. `npm run worker` therefore forks WORKER_PROCESSES − 1 more
// processes (default: one per core) running the same BullMQ workers against the same Redis, and
// `npm start` forks WORKER_PROCESSES of them while it serves the API alone (main.ts); delivery
// batches spread over all of them by themselves. We chose
// processes over worker threads for the encryption: a thread would offload only the crypto half,
// processes spread all of it, and they are also how a newsroom scales out to more machines. The
// price, measured: ~15 % more CPU per push with two processes than with one.
import { fork, type ChildProcess } from 'node:child_process';
import { extname, join } from 'node:path';
import type { Logger } from './log';
import type { Metrics, MetricsSnapshot } from './metrics';

export interface WorkerProcesses {
  /** Each live child's metrics; a child that does not answer within a second is left out. */
  collect(): Promise<MetricsSnapshot[]>;
  stop(): Promise<void>;
}

const METRICS_ASK = 'depeche:metrics?';
const METRICS_ANSWER = 'depeche:metrics';
const COLLECT_TIMEOUT_MS = 1000;
interface MetricsMessage {
  type: string;
  id: number;
  metrics?: MetricsSnapshot;
}
const isMetricsMessage = (m: unknown): m is MetricsMessage =>
  typeof m === 'object' && m !== null && typeof (m as MetricsMessage).type === 'string';

/** In a forked child: answer the parent's requests for this process's metrics. */
export function answerMetricsRequests(metrics: Metrics): void {
  process.on('message', (m: unknown) => {
    if (!isMetricsMessage(m) || m.type !== METRICS_ASK) return;
    void metrics.registry.getMetricsAsJSON().then((snapshot) => {
      process.send?.({ type: METRICS_ANSWER, id: m.id, metrics: snapshot } satisfies MetricsMessage);
    });
  });
}

const RESTART_DELAY_MS = 1000;

/** `count` children; `env`: their environment, with Redis resolved (the private redis-server's URL). */
export function forkWorkerProcesses(count: number, env: Record<string, string | undefined>, log: Logger): WorkerProcesses {
  const entry = join(__dirname, '..', 'workers', `main${extname(__filename)}`);
  const children = new Set<ChildProcess>();
  let stopping = false;
  const spawnOne = (slot: number) => {
    // Children only deliver: one API, and one metrics listener, per machine is enough.
    const child = fork(entry, [], { env: { ...env, WORKER_PROCESSES: '1', METRICS_PORT: '' }, stdio: 'inherit' });
    children.add(child);
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (stopping) return;
      // A crashed child's batches come back to the queue when their locks expire; replace it.
      log.error({ slot, code, signal }, 'worker process exited; starting another');
      setTimeout(() => {
        if (!stopping) spawnOne(slot);
      }, RESTART_DELAY_MS).unref();
    });
  };
  for (let slot = 1; slot <= count; slot++) spawnOne(slot);
  if (count > 0) log.info({ forked: count }, 'delivery workers run in several processes');
  let asked = 0;
  const ask = (child: ChildProcess): Promise<MetricsSnapshot | undefined> =>
    new Promise((resolve) => {
      const id = ++asked;
      const done = (v: MetricsSnapshot | undefined) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(v);
      };
      const onMessage = (m: unknown) => {
        if (isMetricsMessage(m) && m.type === METRICS_ANSWER && m.id === id) done(m.metrics);
      };
      const timer = setTimeout(() => done(undefined), COLLECT_TIMEOUT_MS);
      child.on('message', onMessage);
      if (!child.connected || !child.send({ type: METRICS_ASK, id } satisfies MetricsMessage)) done(undefined);
    });
  return {
    collect: async () => (await Promise.all([...children].map(ask))).filter((m): m is MetricsSnapshot => m !== undefined),
    stop: async () => {
      stopping = true;
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
