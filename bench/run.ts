// `npm run bench [-- --subscribers 20000 --workers 1,2,4 --baseline 20000 --decrypt-every 50]`
// Seeds N subscribers through the import API, publishes one alert through the API and times it
// to the last 201 of the local push service; then, against the same service and subscribers,
// the plain web-push loop. Prints the figures, the ratio and the targets met or missed.
// `--scenario NAME` runs another benchmark on the same stack instead (bench/scenarios.ts).
import { availableParallelism, loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runBaseline, stopChild } from './processes';
import { Progress } from './progress';
import { treeCpuMs } from './cpu';
import { BenchStack, fmt, now, sleep } from './stack';
import { SCENARIOS, runScenario } from './scenarios';

const { values: opt } = parseArgs({
  options: {
    /** default (this file's run), million (the same at 1,000,000), or one of bench/scenarios.ts. */
    scenario: { type: 'string', default: 'default' },
    subscribers: { type: 'string' },
    workers: { type: 'string', default: String(availableParallelism()) },
    baseline: { type: 'string' },
    'decrypt-every': { type: 'string', default: '50' },
    /**
     * Before each timed alert, a test alert (POST /api/alerts/test) to this many subscribers, so the
     * worker processes are those of a service that has sent before; 0 times fresh processes.
     */
    warmup: { type: 'string' },
    /** Writes CPU profiles of the worker processes there (.cpuprofile; bench/profile-top.ts reads them). */
    profile: { type: 'string' },
    /** Prints Redis's command statistics of each run (calls and µs per command). */
    'redis-stats': { type: 'boolean', default: false },
    /** Extra configuration for the API and workers, e.g. --set PUSH_CONCURRENCY=50 (repeatable). */
    set: { type: 'string', multiple: true, default: [] },
    /** subscribe-storm: seconds of load per phase. */
    duration: { type: 'string', default: '30' },
    /** console-during-send: SSE consoles connected. */
    consoles: { type: 'string', default: '20' },
  },
});
const MILLION = opt.scenario === 'million';
if (!MILLION && opt.scenario !== 'default' && !(opt.scenario in SCENARIOS))
  throw new Error(`unknown --scenario ${opt.scenario}: default, million, ${Object.keys(SCENARIOS).join(', ')}`);
const N = Number(opt.subscribers ?? (MILLION ? 1_000_000 : 20_000));
const WORKERS = opt.workers.split(',').map(Number);
const BASELINE_N = Math.min(N, Number(opt.baseline ?? 20_000));
const WARMUP_N = Math.min(N, Number(opt.warmup ?? (MILLION ? 0 : 2000)));
if (!(N > 0) || WORKERS.some((w) => !(w >= 1))) throw new Error('usage: --subscribers N --workers 1,2,4');

const ALERT = {
  title: '« Cessez-le-feu » au Haut-Karabakh',
  body: 'Les combats ont cessé ce matin, selon les deux camps. Les négociations reprennent à Genève.',
  url: 'https://www.exemple.fr/monde/haut-karabakh',
  story: 'haut-karabakh',
  channels: ['push'],
};

async function main(): Promise<void> {
  const loadBefore = loadavg();
  process.stderr.write(
    opt.scenario in SCENARIOS
      ? `dépêche bench, scenario ${opt.scenario}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`
      : `dépêche bench: ${fmt(N)} subscribers, workers ${WORKERS.join(',')}, baseline ${fmt(BASELINE_N)}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}\n`,
  );
  if (opt.scenario in SCENARIOS) {
    await runScenario(opt.scenario, {
      subscribers: opt.subscribers === undefined ? undefined : N,
      workers: WORKERS[0],
      warmup: WARMUP_N,
      decryptEvery: Number(opt['decrypt-every']),
      set: opt.set,
      profile: opt.profile,
      durationS: Number(opt.duration),
      consoles: Number(opt.consoles),
    });
    return;
  }
  const stack = await BenchStack.start({ subscribers: N, decryptEvery: Number(opt['decrypt-every']), warmup: WARMUP_N, set: opt.set });
  const { push, redis } = stack;
  try {
    const { importTimes, bytesPerSubscriber } = await stack.importAll();

    // dépêche: one alert to everyone, per worker-process count.
    const runs: Run[] = [];
    for (const w of WORKERS) {
      push.reset('');
      const workers = await stack.startWorkers(w, opt.profile);
      await stack.warmUp();
      const title = `${ALERT.title} (${w})`;
      const connections = (await push.stats()).connections;
      push.reset(title);
      const cpu = () => ({
        workers: treeCpuMs(workers.pid!),
        push: treeCpuMs(push.pid),
        redis: treeCpuMs(stack.redisPid),
        api: treeCpuMs(stack.apiProcess.pid!),
      });
      const cpu0 = cpu();
      if (opt['redis-stats']) await redis.config('RESETSTAT');
      const bar = new Progress(`dépêche, ${w} process${w > 1 ? 'es' : ''}`, N);
      const tCall = now();
      const pub = await stack.api('POST', '/api/alerts', { ...ALERT, title });
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
      const view = await stack.api('GET', `/api/alerts/${String(pub.json.id)}`);
      const sent = (view.json.delivery as { push: { sent: number } }).push.sent;
      if (sent !== N) process.stderr.write(`warning: the API counts ${sent} sent, the push service ${s.accepted}\n`);
      const perPush = (k: keyof typeof cpu0) => ((cpu1[k] - cpu0[k]) * 1000) / N;
      const timing = await deliveryTiming(stack, String(pub.json.id));
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
    const baseCpu0 = { push: treeCpuMs(push.pid), redis: treeCpuMs(stack.redisPid) };
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
      {
        file: stack.subsFile,
        count: BASELINE_N,
        caFile: stack.caFile,
        payload,
        vapid: { subject: 'mailto:bench@depeche.example', ...stack.vapid },
      },
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
    await stack.stop();
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
async function deliveryTiming(stack: BenchStack, id: string): Promise<Run['timing']> {
  for (let i = 0; ; i++) {
    const { push } = (await stack.api('GET', `/api/alerts/${id}/report`)).json as {
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
    `target ≤ 220 µs of worker CPU per push at 100,000 subscribers: ${N >= 100_000 ? `${check(main.cpuUs.workers <= 220)} (${fmt(main.cpuUs.workers)} µs)` : `not measured (fewer than 100,000 subscribers; ${fmt(main.cpuUs.workers)} µs here)`}`,
    ...(MILLION
      ? [
          `target a million in ≤ 100 s: ${N >= 1_000_000 ? `${check(main.seconds <= 100)} (${fmt(main.seconds, 1)} s)` : `not measured (${fmt(N)} subscribers)`}`,
        ]
      : []),
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
