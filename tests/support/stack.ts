// Starts the real service in-process (API + workers) against a real Redis, the local push
// service and the SMTP sink, with a fresh key prefix so tests never see each other's data.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import webpush from 'web-push';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/log';
import { start, type Running } from '../../src/runtime';
import type { AlertView } from '../../src/store/alerts';
import type { TestRedis } from './redis';
import type { TestCluster } from './redis-cluster';
import { startBackend } from './backend';
import { startPushService, type PushService } from './push-service';
import { startSmtpServer, type SmtpSink } from './smtp';
import { within } from './wait';

export const EDITOR = 'redaction-secret-token-0123456789';
export const CHIEF = 'chef-secret-token-0123456789abcdef';

/** Tests read JSON answers loosely; each field read is asserted on right after. */
export type Loose = { readonly [k: string]: Loose };
export interface ApiAnswer {
  status: number;
  json: Loose;
  text: string;
  headers: Headers;
}

/** One log line of the service, as pino wrote it. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Stack {
  /** Every line the service logged at warn level or above (TEST_LOG_LEVEL also echoes them). */
  logs: LogLine[];
  /** The single redis-server; on a cluster, a stand-in whose url/kill/restart throw (see backend.ts). */
  redis: TestRedis;
  /** Set when the stack runs on a Redis Cluster. */
  cluster?: TestCluster;
  push: PushService;
  smtp: SmtpSink;
  app: Running;
  config: Config;
  base: string;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** The alert as the editor's API shows it. */
  alert(id: string): Promise<AlertView>;
  /** Waits until every batch of the alert has finished. */
  delivered(id: string, timeoutMs?: number): Promise<AlertView>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Run on a 3-master Redis Cluster instead of one redis-server (default: TEST_REDIS_CLUSTER / useCluster()). */
  cluster?: boolean;
  /** Where the service logs go (default: stdout at TEST_LOG_LEVEL, silent unless set). */
  logDestination?: DestinationStream;
  /** Push-service origins allowed besides the local push service's own (a function: given its origin). */
  extraPushOrigins?: string[] | ((pushOrigin: string) => string[]);
}

export async function startStack(
  env: Record<string, string> = {},
  roles = { api: true, worker: true },
  opts: StackOptions = {},
): Promise<Stack> {
  const backend = await startBackend(opts);
  const redis = backend.redis;
  const vapid = webpush.generateVAPIDKeys();
  const push = await startPushService({ applicationServerKey: env.VAPID_PUBLIC_KEY ?? vapid.publicKey });
  const smtp = await startSmtpServer();
  const dir = mkdtempSync(join(tmpdir(), 'depeche-test-'));
  const caFile = join(dir, 'push-ca.pem');
  writeFileSync(caFile, push.ca);
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ...backend.env,
    REDIS_PREFIX: `t${randomBytes(4).toString('hex')}`,
    DATA_DIR: dir,
    PUBLIC_BASE_URL: 'https://alertes.example.fr',
    EDITOR_TOKENS: `redaction:${EDITOR},chef:${CHIEF}:chief`,
    TOKEN_SECRET: randomBytes(32).toString('hex'),
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:tech@depeche.example',
    PUSH_ALLOWED_ORIGINS: [
      push.origin,
      ...(typeof opts.extraPushOrigins === 'function' ? opts.extraPushOrigins(push.origin) : (opts.extraPushOrigins ?? [])),
    ].join(','),
    PUSH_TLS_CA_FILE: caFile,
    // On, so every test goes through the Redis-backed limiter, but far above what a test sends.
    SUBSCRIBE_RATE_LIMIT: '100000',
    SMTP_URL: smtp.url,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    // Only flashes in the flash lane: the tests' small urgency-high alerts stay in the normal lane
    // their assertions were written for; tests/lanes.test.ts sets the threshold itself.
    PRIORITY_MAX_AUDIENCE: '0',
    ...env,
  });
  const logs: LogLine[] = [];
  const echo = process.env.TEST_LOG_LEVEL !== undefined;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
      if (echo) process.stdout.write(chunk);
      done();
    },
  });
  const app = await start(config, createLogger(config.logLevel, 'depeche', opts.logDestination ?? sink), roles);
  const base = `http://127.0.0.1:${app.port}`;
  const api: Stack['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      redirect: 'manual',
      // A request the service never answers fails the test by name instead of hanging it.
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json = null as unknown as Loose;
    try {
      json = JSON.parse(text) as Loose;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, json, text, headers: res.headers };
  };
  return {
    logs,
    redis,
    cluster: backend.cluster,
    push,
    smtp,
    app,
    config,
    base,
    api,
    alert: async (id) => (await api('GET', `/api/alerts/${id}`, undefined, editor())).json as unknown as AlertView,
    delivered: (id, timeoutMs = 5000) =>
      until(async () => {
        const v = (await api('GET', `/api/alerts/${id}`, undefined, editor())).json as unknown as AlertView;
        return v.status === 'delivered' ? v : null;
      }, timeoutMs),
    stop: async () => {
      // SHUTDOWN_TIMEOUT_MS bounds the service's own stop; this bounds the test's wait for it.
      await within(app.stop(), 45_000, 'the stack to stop');
      await push.close();
      await smtp.close();
      await backend.stop();
    },
  };
}

export const editor = (token = EDITOR) => ({ authorization: `Bearer ${token}` });

export async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5000, stepMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** An alert's push figures without the per-service breakdown (push-services.test.ts checks that). */
export function pushCounts(p: AlertView['delivery']['push']): Omit<AlertView['delivery']['push'], 'byService' | 'alarm'> {
  const { byService: _byService, alarm: _alarm, ...rest } = p;
  return rest;
}
