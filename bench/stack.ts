// The stack every push benchmark runs on, each part in its own process as in production: a private
// redis-server, the bench push service, the API (`npm run api`) seeded with N subscribers through
// the import endpoint, and the delivery workers (`npm run worker`) once asked for.
import { mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir, loadavg, availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { Queue } from 'bullmq';
import webpush from 'web-push';
import { startPrivateRedis, freePort } from '../src/store/private-redis';
import { keyPool, writeSubscribers, type PoolKey } from './subscribers';
import { PushServiceProcess, startService, stopChild } from './processes';
import { Progress } from './progress';

export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmt = (n: number, d = 0) => n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
export const check = (ok: boolean) => (ok ? 'met' : 'NOT MET');
const IMPORT_CHUNK = 100_000;

/** "2 cores (AMD EPYC), node v20; load average 1.20 0.80 0.50": printed with every figure. */
export function machineLine(): string {
  return `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

export interface StackOptions {
  subscribers: number;
  decryptEvery: number;
  /** Subscribers given to the test alert (TEST_RECIPIENTS), the first ones by id; 0 for none. */
  warmup: number;
  /** Extra configuration for the API and workers (KEY=VALUE). */
  set: readonly string[];
  /** A topic (created before the import) that `count` subscribers, `every` ids apart, follow besides the usual ones. */
  extraTopic?: { slug: string; every: number; count: number };
}

export class BenchStack {
  readonly editorToken = randomBytes(16).toString('hex');
  private readonly children: ChildProcess[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];

  private constructor(
    readonly dir: string,
    readonly opts: StackOptions,
    readonly pool: PoolKey[],
  ) {}

  // Set by start(); read-only afterwards.
  push!: PushServiceProcess;
  redisUrl = '';
  redis!: Redis;
  redisPid = 0;
  caFile = '';
  subsFile = '';
  vapid = { publicKey: '', privateKey: '' };
  port = 0;
  env: Record<string, string> = {};
  apiProcess!: ChildProcess;
  queue!: Queue;
  /** The id of the last warm-up alert, once one went out. */
  lastWarmUp: string | undefined;

  /** Everything but the workers; the subscribers are written to a file, not yet imported. */
  static async start(opts: StackOptions): Promise<BenchStack> {
    const s = new BenchStack(mkdtempSync(join(tmpdir(), 'depeche-bench-')), opts, keyPool(1000));
    try {
      await s.boot();
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async boot(): Promise<void> {
    const poolFile = join(this.dir, 'pool.json');
    writeFileSync(poolFile, JSON.stringify(this.pool));
    const redisServer = await startPrivateRedis(join(this.dir, 'redis'));
    this.cleanups.push(() => redisServer.stop());
    this.redisUrl = redisServer.url;
    this.redisPid = redisServer.process.pid!;
    this.push = await PushServiceProcess.start(poolFile, this.opts.decryptEvery);
    this.cleanups.push(() => this.push.stop());
    this.caFile = join(this.dir, 'push-ca.pem');
    writeFileSync(this.caFile, this.push.ca);
    this.subsFile = join(this.dir, 'subscribers.ndjson');
    await writeSubscribers(this.subsFile, this.opts.subscribers, this.push.origin, this.pool, this.opts.extraTopic);
    this.vapid = webpush.generateVAPIDKeys();
    this.port = await freePort();
    const warm = Math.min(this.opts.subscribers, this.opts.warmup);
    this.env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(this.port),
      HOST: '127.0.0.1',
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: 'bench',
      DATA_DIR: join(this.dir, 'data'),
      EDITOR_TOKENS: `bench:${this.editorToken}`,
      TOKEN_SECRET: randomBytes(32).toString('hex'),
      VAPID_PUBLIC_KEY: this.vapid.publicKey,
      VAPID_PRIVATE_KEY: this.vapid.privateKey,
      VAPID_SUBJECT: 'mailto:bench@depeche.example',
      PUSH_ALLOWED_ORIGINS: this.push.origin,
      PUSH_TLS_CA_FILE: this.caFile,
      // Off by default: the seeding and the runs come from one address. subscribe-storm sets it.
      SUBSCRIBE_RATE_LIMIT: '0',
      LOG_LEVEL: 'warn',
      // Ids are given in import order from 1: the warm-up goes to the first subscribers.
      ...(warm > 0 ? { TEST_RECIPIENTS: Array.from({ length: warm }, (_, i) => i + 1).join(',') } : {}),
      ...Object.fromEntries(this.opts.set.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
    };
    this.apiProcess = startService('api', this.env);
    this.children.push(this.apiProcess);
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/api/health`)).ok) break;
      } catch {
        /* not up yet */
      }
      if (i > 300) throw new Error('the API did not start');
      await sleep(100);
    }
    this.redis = new Redis(this.redisUrl);
    this.cleanups.push(async () => {
      this.redis.disconnect();
    });
    this.queue = new Queue('push', { connection: { url: this.redisUrl }, prefix: '{benchq}' });
    this.cleanups.push(() => this.queue.close());
    if (this.opts.extraTopic) {
      const r = await this.api('POST', '/api/topics', { slug: this.opts.extraTopic.slug, label: 'Bench' });
      if (r.status !== 201) throw new Error(`topic: ${r.status} ${JSON.stringify(r.json)}`);
    }
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.editorToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Seeds every subscriber through the import endpoint, 100,000 lines per request. */
  async importAll(): Promise<{ importTimes: { lines: number; ms: number }[]; bytesPerSubscriber: number }> {
    const n = this.opts.subscribers;
    const mem0 = await this.usedMemory();
    const seed = new Progress('import', n);
    const importTimes: { lines: number; ms: number }[] = [];
    let batch: string[] = [];
    let seeded = 0;
    const flush = async () => {
      const t = now();
      const r = await this.importLines(batch);
      if (r.rejected > 0 || r.imported !== batch.length) throw new Error(`import: ${JSON.stringify(r).slice(0, 300)}`);
      importTimes.push({ lines: batch.length, ms: now() - t });
      seeded += batch.length;
      seed.update(seeded, `${fmt(batch.length / ((now() - t) / 1000))} lines/s`);
      batch = [];
    };
    for await (const line of createInterface({ input: createReadStream(this.subsFile) })) {
      batch.push(line);
      if (batch.length === IMPORT_CHUNK) await flush();
    }
    if (batch.length > 0) await flush();
    seed.done();
    return { importTimes, bytesPerSubscriber: ((await this.usedMemory()) - mem0) / n };
  }

  /** `npm run worker` with WORKER_PROCESSES=w, once w push workers are on the queue. */
  async startWorkers(w: number, profileDir?: string): Promise<ChildProcess> {
    const workers = startService('worker', { ...this.env, WORKER_PROCESSES: String(w) }, profileDir);
    this.children.push(workers);
    for (let i = 0; (await this.queue.getWorkersCount()) < w; i++) {
      if (i > 600) throw new Error(`${w} worker processes did not start`);
      await sleep(100);
    }
    return workers;
  }

  /** A test alert to the first `warmup` subscribers, waited for to the end. */
  async warmUp(): Promise<void> {
    const n = Math.min(this.opts.subscribers, this.opts.warmup);
    if (n === 0) return;
    const before = (await this.push.stats()).accepted;
    const pub = await this.api('POST', '/api/alerts/test', { title: 'Essai de chauffe', body: 'Avant la mesure.', channels: ['push'] });
    if (pub.status !== 202) throw new Error(`test alert answered ${pub.status}: ${JSON.stringify(pub.json)}`);
    this.lastWarmUp = String(pub.json.id);
    for (let i = 0; ; i++) {
      const view = await this.api('GET', `/api/alerts/${String(pub.json.id)}`);
      if (view.json.status === 'delivered' && (await this.push.stats()).accepted - before >= n) return;
      if (i > 600) throw new Error(`the warm-up alert did not finish: ${JSON.stringify(view.json).slice(0, 300)}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    for (const c of this.children) await stopChild(c);
    for (const c of this.cleanups.reverse()) await c().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async usedMemory(): Promise<number> {
    return Number(/used_memory:(\d+)/.exec(await this.redis.info('memory'))![1]);
  }

  /** Streams `lines` to the import endpoint as one request. */
  private importLines(lines: string[]): Promise<{ imported: number; updated: number; rejected: number }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'POST',
          path: '/api/subscriptions/push/import',
          headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${this.editorToken}` },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(JSON.parse(text) as never)
              : reject(new Error(`import answered ${res.statusCode}: ${text.slice(0, 200)}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(lines.join('\n'));
    });
  }
}
