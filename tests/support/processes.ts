// The service as separate processes, the way it runs in production: `src/main.ts --api` and
// `workers/main.ts`, each given its environment by the test, so a test can SIGKILL or SIGTERM
// them. They are started as `node --import tsx <file>` rather than through the tsx CLI, which
// would put a wrapper process in between that a SIGKILL cannot pass through.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import webpush from 'web-push';
import { EDITOR, CHIEF } from './stack';
import type { PushService } from './push-service';
import type { SmtpSink } from './smtp';
import { within } from './wait';

export type Role = 'api' | 'worker' | 'all' | 'inbound';
const ENTRY: Record<Role, string[]> = {
  api: ['src/main.ts', '--api'],
  worker: ['workers/main.ts'],
  all: ['src/main.ts'],
  inbound: ['src/inbound-main.ts'],
};
/** The compiled build (`npm run build`), run by node alone, as the image and `npm start` run it. */
const COMPILED: Record<Role, string[]> = {
  api: ['dist/src/main.js', '--api'],
  worker: ['dist/workers/main.js'],
  all: ['dist/src/main.js'],
  inbound: ['dist/src/inbound-main.js'],
};

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** Parsed pino lines from stdout, in order. */
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line matching, or rejects after timeoutMs. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `exited`, bounded: rejects (and SIGKILLs the process) if it is still running after timeoutMs. */
  waitForExit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export function spawnService(role: Role, env: Record<string, string>, opts: { compiled?: boolean } = {}): ServiceProcess {
  const child = spawn(process.execPath, opts.compiled ? COMPILED[role] : ['--import', 'tsx', ...ENTRY[role]], {
    // Only what the test gives, plus what node needs to run: nothing leaks from the test's env.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let out = '';
  let err = '';
  let partial = '';
  const watchers: { match: (l: LogLine) => boolean; done: (l: LogLine) => void }[] = [];
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      let line: LogLine;
      try {
        line = JSON.parse(p) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of [...watchers])
        if (w.match(line)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.done(line);
        }
    }
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // Never leave a service behind when the test process ends early.
  const reap = () => {
    child.kill('SIGKILL');
  };
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));
  return {
    child,
    pid: child.pid!,
    logs,
    stdout: () => out,
    stderr: () => err,
    waitForLog: (match, timeoutMs = 20_000) => {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${err.slice(-500)}; stdout tail: ${out.slice(-500)}`)),
          timeoutMs,
        );
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`process exited (${code ?? signal}) before the log line; stderr: ${err.slice(-500)}`));
        });
        watchers.push({
          match,
          done: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    exited,
    waitForExit: async (timeoutMs = 20_000) => {
      try {
        return await within(exited, timeoutMs, () => `${role} process ${child.pid} to exit; stderr: ${err.slice(-500)}`);
      } catch (e) {
        child.kill('SIGKILL');
        throw e;
      }
    },
    kill: (signal) => {
      child.kill(signal);
    },
  };
}

/** The environment a deployment would set, pointing at the test's Redis, push service and SMTP sink. */
/** `redis`: a URL, or the backend's environment (REDIS_URL or REDIS_CLUSTER_NODES, see backend.ts). */
export function serviceEnv(
  redis: string | Record<string, string>,
  push: PushService,
  smtp: SmtpSink,
  extra: Record<string, string> = {},
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'depeche-proc-'));
  const caFile = join(dir, 'push-ca.pem');
  writeFileSync(caFile, push.ca);
  const vapid = webpush.generateVAPIDKeys();
  // Browsers subscribe with the key the service publishes; subscriptions made from now on are bound to it.
  push.applicationServerKey = extra.VAPID_PUBLIC_KEY ?? vapid.publicKey;
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    ...(typeof redis === 'string' ? { REDIS_URL: redis } : redis),
    REDIS_PREFIX: `f${randomBytes(4).toString('hex')}`,
    DATA_DIR: dir,
    PUBLIC_BASE_URL: 'https://alertes.example.fr',
    EDITOR_TOKENS: `redaction:${EDITOR},chef:${CHIEF}:chief`,
    TOKEN_SECRET: randomBytes(32).toString('hex'),
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:tech@depeche.example',
    PUSH_ALLOWED_ORIGINS: push.origin,
    PUSH_TLS_CA_FILE: caFile,
    SMTP_URL: smtp.url,
    SUBSCRIBE_RATE_LIMIT: '0',
    LOG_LEVEL: 'info',
    // One process per service started: a test that kills a worker kills all of its workers.
    WORKER_PROCESSES: '1',
    // Only flashes in the flash lane, as in stack.ts.
    PRIORITY_MAX_AUDIENCE: '0',
    ...extra,
  };
}

/** Starts the API and resolves with its base URL once it listens. */
export async function startApi(
  env: Record<string, string>,
  opts: { compiled?: boolean } = {},
): Promise<{ proc: ServiceProcess; base: string }> {
  const proc = spawnService('api', env, opts);
  const line = await proc.waitForLog((l) => l.msg === 'API listening');
  return { proc, base: `http://127.0.0.1:${String(line.port)}` };
}

/** Starts a worker process and resolves once its workers take jobs. */
export async function startWorker(env: Record<string, string>, opts: { compiled?: boolean } = {}): Promise<ServiceProcess> {
  const proc = spawnService('worker', env, opts);
  await proc.waitForLog((l) => l.msg === 'workers started');
  return proc;
}
