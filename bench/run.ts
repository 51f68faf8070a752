// `npm run bench [-- --subscribers 20000 --workers 1,2,4 --baseline 20000 --decrypt-every 50]`
// Seeds N subscribers through the import API, publishes one alert through the API and times it
// to the last 201 of the local push service; then, against the same service and subscribers,
// the plain web-push loop. Prints the figures, the ratio and the targets met or missed.
import { mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir, availableParallelism, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { Queue } from 'bullmq';
import webpush from 'web-push';
import { startPrivateRedis, freePort } from '../src/store/private-redis';
import { keyPool, writeSubscribers } from './subscribers';
import { PushServiceProcess, runBaseline, startService, stopChild } from './processes';
import { Progress } from './progress';
import { treeCpuMs } from './cpu';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, d = 0) => n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const EDITOR = `bench:${randomBytes(16).toString('hex')}`;
const TOKEN = EDITOR.split(':')[1];
const IMPORT_CHUNK = 100_000;

const { values: opt } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '20000' },
    workers: { type: 'string', default: String(availableParallelism()) },
    baseline: { type: 'string' },
    'decrypt-every': { type: 'string', default: '50' },
    /**
     * Before each timed alert, a test alert (POST /api/alerts/test) to this many subscribers, so the
     * worker processes are those of a service that has sent before; 0 times fresh processes.
     */
    warmup: { type: 'string', default: '2000' },
    /** Writes CPU profiles of the worker processes there (.cpuprofile, for Chrome's DevTools). */
    profile: { type: 'string' },
    /** Prints Redis's command statistics of each run (calls and µs per command). */
    'redis-stats': { type: 'boolean', default: false },
    /** Extra configuration for the API and workers, e.g. --set PUSH_CONCURRENCY=50 (repeatable). */
    set: { type: 'string', multiple: true, default: [] },
  },
});
const N = Number(opt.subscribers);
const WORKERS = opt.workers.split(',').map(Number);
const BASELINE_N = Math.min(N, Number(opt.baseline ?? 20_000));
const WARMUP_N = Math.min(N, Number(opt.warmup));
if (!(N > 0) || WORKERS.some((w) => !(w >= 1))) throw new Error('usage: --subscribers N --workers 1,2,4');

const ALERT = {
  title: '« Cessez-le-feu » au Haut-Karabakh',
  body: 'Les combats ont cessé ce matin, selon les deux camps. Les négociations reprennent à Genève.',
  url: 'https://www.exemple.fr/monde/haut-karabakh',
  story: 'haut-karabakh',
  channels: ['push'],
};

async function api(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Streams `lines` to the import endpoint as one request. */
function importLines(port: number, lines: string[]): Promise<{ imported: number; updated: number; rejected: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/subscriptions/push/import',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${TOKEN}` },
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

/** A test alert to the first WARMUP_N subscribers, waited for to the end. */
async function warmUp(port: number, push: PushServiceProcess): Promise<void> {
  const pub = await api(port, 'POST', '/api/alerts/test', { title: 'Essai de chauffe', body: 'Avant la mesure.', channels: ['push'] });
  if (pub.status !== 202) throw new Error(`test alert answered ${pub.status}: ${JSON.stringify(pub.json)}`);
  for (let i = 0; ; i++) {
    const view = await api(port, 'GET', `/api/alerts/${String(pub.json.id)}`);
    if (view.json.status === 'delivered' && (await push.stats()).accepted >= WARMUP_N) return;
    if (i > 600) throw new Error(`the warm-up alert did not finish: ${JSON.stringify(view.json).slice(0, 300)}`);
    await sleep(100);
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'depeche-bench-'));
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const loadBefore = loadavg();
  try {
    process.stderr.write(
      `dépêche bench: ${fmt(N)} subscribers, workers ${WORKERS.join(',')}, baseline ${fmt(BASELINE_N)}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`,
    );
    const pool = keyPool(1000);
    const poolFile = join(dir, 'pool.json');
    writeFileSync(poolFile, JSON.stringify(pool));
    const redisServer = await startPrivateRedis(join(dir, 'redis'));
    cleanups.push(() => redisServer.stop());
    const push = await PushServiceProcess.start(poolFile, Number(opt['decrypt-every']));
    cleanups.push(() => push.stop());
    const caFile = join(dir, 'push-ca.pem');
    writeFileSync(caFile, push.ca);
    const subsFile = join(dir, 'subscribers.ndjson');
    await writeSubscribers(subsFile, N, push.origin, pool);

    const vapid = webpush.generateVAPIDKeys();
    const port = await freePort();
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redisServer.url,
      REDIS_PREFIX: 'bench',
      DATA_DIR: join(dir, 'data'),
      EDITOR_TOKENS: EDITOR,
      TOKEN_SECRET: randomBytes(32).toString('hex'),
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:bench@depeche.example',
      PUSH_ALLOWED_ORIGINS: push.origin,
      PUSH_TLS_CA_FILE: caFile,
      SUBSCRIBE_RATE_LIMIT: '0',
      LOG_LEVEL: 'warn',
      // Ids are given in import order from 1: the warm-up goes to the first subscribers.
      ...(WARMUP_N > 0 ? { TEST_RECIPIENTS: Array.from({ length: WARMUP_N }, (_, i) => i + 1).join(',') } : {}),
      ...Object.fromEntries(opt.set.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
    };
    const apiProcess = startService('api', env);
    children.push(apiProcess);
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/api/health`)).ok) break;
      } catch {
        /* not up yet */
      }
      if (i > 300) throw new Error('the API did not start');
      await sleep(100);
    }

    // Seeding, through the import API, 100,000 lines per request.
    const redis = new Redis(redisServer.url);
    cleanups.push(async () => {
      redis.disconnect();
    });
    const mem0 = await usedMemory(redis);
    const seed = new Progress('import', N);
    const importTimes: { lines: number; ms: number }[] = [];
    let batch: string[] = [];
    let seeded = 0;
    const flush = async () => {
      const t = now();
      const r = await importLines(port, batch);
      if (r.rejected > 0 || r.imported !== batch.length) throw new Error(`import: ${JSON.stringify(r).slice(0, 300)}`);
      importTimes.push({ lines: batch.length, ms: now() - t });
      seeded += batch.length;
      seed.update(seeded, `${fmt(batch.length / ((now() - t) / 1000))} lines/s`);
      batch = [];
    };
    for await (const line of createInterface({ input: createReadStream(subsFile) })) {
      batch.push(line);
      if (batch.length === IMPORT_CHUNK) await flush();
    }
    if (batch.length > 0) await flush();
    seed.done();
    const bytesPerSubscriber = ((await usedMemory(redis)) - mem0) / N;

    // dépêche: one alert to everyone, per worker-process count.
    const queue = new Queue('push', { connection: { url: redisServer.url }, prefix: '{benchq}' });
    cleanups.push(() => queue.close());
    const runs: Run[] = [];
    for (const w of WORKERS) {
      push.reset('');
      const workers = startService('worker', { ...env, WORKER_PROCESSES: String(w) }, opt.profile);
      children.push(workers);
      for (let i = 0; (await queue.getWorkersCount()) < w; i++) {
        if (i > 600) throw new Error(`${w} worker processes did not start`);
        await sleep(100);
      }
      if (WARMUP_N > 0) await warmUp(port, push);
      const title = `${ALERT.title} (${w})`;
      const connections = (await push.stats()).connections;
      push.reset(title);
      const cpu = () => ({
        workers: treeCpuMs(workers.pid!),
        push: treeCpuMs(push.pid),
        redis: treeCpuMs(redisServer.process.pid!),
        api: treeCpuMs(apiProcess.pid!),
      });
      const cpu0 = cpu();
      if (opt['redis-stats']) await redis.config('RESETSTAT');
      const bar = new Progress(`dépêche, ${w} process${w > 1 ? 'es' : ''}`, N);
      const tCall = now();
      const pub = await api(port, 'POST', '/api/alerts', { ...ALERT, title });
      const tReturned = now();
      if (pub.status !== 202) throw new Error(`publish answered ${pub.status}: ${JSON.stringify(pub.json)}`);
      let s = await push.stats();
      let lastProgress = now();
      let lastCount = 0;
      while (s.accepted < N) {
        await sleep(200);
        s = await push.stats();
        if (s.accepted !== lastCount) {
          lastCount = s.accepted;
          lastProgress = now();
        }
        if (now() - lastProgress > 60_000) throw new Error(`stalled at ${s.accepted}/${N} (${s.rejected} rejected: ${s.lastReason})`);
        bar.update(s.accepted, `${fmt(s.accepted / ((now() - tCall) / 1000))}/s`);
      }
      const cpu1 = cpu();
      bar.done();
      if (opt['redis-stats']) {
        const lines = (await redis.info('commandstats')).split('\n').filter((l) => l.startsWith('cmdstat_'));
        process.stderr.write(`redis commands during the run (${w} processes):\n${lines.map((l) => `  ${l.trim()}`).join('\n')}\n`);
      }
      const view = await api(port, 'GET', `/api/alerts/${String(pub.json.id)}`);
      const sent = (view.json.delivery as { push: { sent: number } }).push.sent;
      if (sent !== N) process.stderr.write(`warning: the API counts ${sent} sent, the push service ${s.accepted}\n`);
      const perPush = (k: keyof typeof cpu0) => ((cpu1[k] - cpu0[k]) * 1000) / N;
      const timing = await deliveryTiming(port, String(pub.json.id));
      runs.push({
        workers: w,
        perSecond: N / ((s.lastAt - tCall) / 1000),
        firstMs: s.firstAt - tReturned,
        seconds: (s.lastAt - tCall) / 1000,
        h2: s.h2,
        h1: s.h1,
        connections: connections + s.connections,
        decrypted: s.decrypted,
        bad: s.badPayloads + s.rejected,
        cpuUs: { workers: perPush('workers'), push: perPush('push'), redis: perPush('redis'), api: perPush('api') },
        timing,
      });
      await stopChild(workers);
    }

    // The plain baseline, same push service, same subscribers.
    push.reset('');
    const baseCpu0 = { push: treeCpuMs(push.pid), redis: treeCpuMs(redisServer.process.pid!) };
    const bbar = new Progress('plain web-push loop', BASELINE_N);
    const payload = JSON.stringify({
      id: 'baseline',
      title: ALERT.title,
      body: ALERT.body,
      url: ALERT.url,
      topics: [],
      urgency: 'high',
      sentAt: new Date().toISOString(),
      tag: 'baseline',
    });
    const base = await runBaseline(
      { file: subsFile, count: BASELINE_N, caFile, payload, vapid: { subject: 'mailto:bench@depeche.example', ...vapid } },
      (d) => bbar.update(d),
    );
    bbar.done();
    const baseStats = await push.stats();
    const baseCpuUs = { sender: (base.cpuMs * 1000) / base.sent, push: ((treeCpuMs(push.pid) - baseCpu0.push) * 1000) / base.sent };
    const basePerSecond = base.sent / ((base.endAt - base.startAt) / 1000);
    if (base.failed > 0) process.stderr.write(`warning: baseline had ${base.failed} failures (${base.firstError})\n`);

    report({
      runs,
      basePerSecond,
      baseSent: base.sent,
      baseH1: baseStats.h1,
      baseCpuUs,
      bytesPerSubscriber,
      importTimes,
      loadBefore,
      loadAfter: loadavg(),
    });
  } finally {
    for (const c of children) await stopChild(c);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Run {
  workers: number;
  perSecond: number;
  firstMs: number;
  seconds: number;
  h2: number;
  h1: number;
  connections: number;
  decrypted: number;
  bad: number;
  /** CPU µs per push spent by each party during the run. */
  cpuUs: { workers: number; push: number; redis: number; api: number };
  /** The alert's own delivery report (GET /api/alerts/:id/report): bucket upper edges, ms from its first wave. */
  timing: Record<'firstMs' | 'p50Ms' | 'p90Ms' | 'p99Ms' | 'lastMs', number | null> & { withinTarget: number | null };
}

/** The report once every accepted push is on record (the last group is written a few ms after its 201). */
async function deliveryTiming(port: number, id: string): Promise<Run['timing']> {
  for (let i = 0; ; i++) {
    const { push } = (await api(port, 'GET', `/api/alerts/${id}/report`)).json as {
      push: { accepted: number; withinTarget: number | null; timing: Omit<Run['timing'], 'withinTarget'> };
    };
    if (push.accepted >= N || i >= 50) return { ...push.timing, withinTarget: push.withinTarget };
    await sleep(100);
  }
}

interface Report {
  runs: Run[];
  basePerSecond: number;
  baseSent: number;
  baseH1: number;
  baseCpuUs: { sender: number; push: number };
  bytesPerSubscriber: number;
  importTimes: { lines: number; ms: number }[];
  loadBefore: number[];
  loadAfter: number[];
}

function report(r: Report): void {
  const check = (ok: boolean) => (ok ? 'met' : 'NOT MET');
  const main = r.runs.find((x) => x.workers === availableParallelism()) ?? r.runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const ratio = main.perSecond / r.basePerSecond;
  const firstImport = r.importTimes[0];
  const totalImport = r.importTimes.reduce((a, b) => ({ lines: a.lines + b.lines, ms: a.ms + b.ms }), { lines: 0, ms: 0 });
  const out = [
    '',
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; load average before ${r.loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${r.loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
    `subscribers: ${fmt(N)} (FCM-length endpoints, 190 characters); ${WARMUP_N > 0 ? `workers warmed by a test alert to ${fmt(WARMUP_N)} of them before each timed alert` : 'workers timed fresh (no warm-up)'}`,
    `import: first ${fmt(firstImport.lines)} lines in ${fmt(firstImport.ms / 1000, 2)} s; all ${fmt(totalImport.lines)} at ${fmt(totalImport.lines / (totalImport.ms / 1000))} lines/s`,
    `redis memory per push subscriber: ${fmt(r.bytesPerSubscriber, 0)} bytes`,
    '',
    'worker processes | pushes/s (publish → last 201) | first push after publish returned | total | HTTP/2 / HTTP/1.1 | TLS connections | decrypted & checked',
    ...r.runs.map(
      (x) =>
        `${String(x.workers).padStart(16)} | ${fmt(x.perSecond).padStart(29)} | ${`${fmt(x.firstMs, 1)} ms`.padStart(33)} | ${`${fmt(x.seconds, 1)} s`.padStart(5)} | ${`${fmt(x.h2)} / ${fmt(x.h1)}`.padStart(17)} | ${String(x.connections).padStart(15)} | ${fmt(x.decrypted)}${x.bad ? `, ${x.bad} BAD` : ', all good'}`,
    ),
    '',
    'delivery report (GET /api/alerts/:id/report, from the first wave): worker processes | first | p50 | p90 | p99 | last | within target',
    ...r.runs.map((x) => {
      const t = x.timing;
      const ms = (v: number | null) => (v === null ? '—' : `${fmt(v)} ms`).padStart(9);
      return `${String(x.workers).padStart(16)} | ${ms(t.firstMs)} | ${ms(t.p50Ms)} | ${ms(t.p90Ms)} | ${ms(t.p99Ms)} | ${ms(t.lastMs)} | ${t.withinTarget === null ? '—' : `${fmt(t.withinTarget * 100, 1)} %`}`;
    }),
    '',
    'CPU per push (µs): worker processes | push service | redis | API',
    ...r.runs.map(
      (x) =>
        `${String(x.workers).padStart(16)} | ${fmt(x.cpuUs.workers).padStart(16)} | ${fmt(x.cpuUs.push).padStart(12)} | ${fmt(x.cpuUs.redis).padStart(5)} | ${fmt(x.cpuUs.api).padStart(3)}`,
    ),
    '',
    `plain web-push loop (100 in flight, keep-alive HTTP/1.1): ${fmt(r.basePerSecond)} pushes/s over ${fmt(r.baseSent)}; CPU per push ${fmt(r.baseCpuUs.sender)} µs in the sender, ${fmt(r.baseCpuUs.push)} µs in the push service`,
    `ratio dépêche (${main.workers} processes) ÷ plain: ${fmt(ratio, 2)}`,
    '',
    `target ratio ≥ 4: ${check(ratio >= 4)} (${fmt(ratio, 2)})`,
    `target first push ≤ 50 ms after publish returns: ${check(main.firstMs <= 50)} (${fmt(main.firstMs, 1)} ms)`,
    `target ≤ 300 bytes of Redis per push subscriber: ${check(r.bytesPerSubscriber <= 300)} (${fmt(r.bytesPerSubscriber)} B)`,
    `import of 100,000 lines under 10 s: ${firstImport.lines >= 100_000 ? check(firstImport.ms <= 10_000) : 'not measured (fewer than 100,000 subscribers)'}${firstImport.lines >= 100_000 ? ` (${fmt(firstImport.ms / 1000, 2)} s)` : ''}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`\nbench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
