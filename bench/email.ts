// `npm run bench:email [-- --n 5000 --pool 8 --runs 3 --dkim --only plain|depeche]`
// (--only runs one side, for profiling; no ratio then)
//
// Email throughput, measured against the plain baseline in the same run and against the same
// server: N confirmed subscribers get one alert through dépêche's real pipeline (publish → fan-out
// → delivery batches → channel, with Redis, BullMQ and a personal unsubscribe link per message),
// and the same N messages go through a plain nodemailer pooled loop (same pool size, one fixed
// message). Both face smtp-server on loopback in a separate process. Prints messages/s for both and
// the ratio; the target is ≥ 0.9. For context it also measures the pool's ceiling: one message
// composed once and sent unchanged to everyone. Runs alternate (baseline, dépêche, baseline, …) so warm-up and
// machine noise hit both sides alike, after one uncounted warm-up round of each; the summary uses
// the median of each side.
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import webpush from 'web-push';
import { loadConfig, type DkimConfig } from '../src/config';
import { createLogger } from '../src/log';
import { start, type Running } from '../src/runtime';
import { startPrivateRedis } from '../src/store/private-redis';
import { publishAlert } from '../src/pipeline/publish';
import { alertInputSchema } from '../src/schemas';
import { DKIM_SIGNED_HEADERS } from '../src/email/transport';
import type { Alert } from '../src/model';

interface Options {
  n: number;
  pool: number;
  runs: number;
  dkim: boolean;
  only?: 'plain' | 'depeche';
}

function options(argv: string[]): Options {
  const get = (name: string, dflt: number) => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : dflt;
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
    return v;
  };
  if (argv.includes('--channel') && argv[argv.indexOf('--channel') + 1] !== 'email') throw new Error('this benchmark is --channel email');
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  if (only !== undefined && only !== 'plain' && only !== 'depeche') throw new Error('--only must be plain or depeche');
  return { n: get('n', 5000), pool: get('pool', 8), runs: get('runs', 3), dkim: argv.includes('--dkim'), only };
}

type SinkMessage = { type: string; port?: number; received?: number; distinctLinks?: number; at?: number };

/** The SMTP server process (bench/smtp-sink.ts), driven over IPC. */
class Sink {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<Sink> {
    const child = fork(join(__dirname, 'smtp-sink.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<SinkMessage>((resolve, reject) => {
      child.once('message', (m: SinkMessage) => resolve(m));
      child.once('exit', (code) => reject(new Error(`SMTP sink exited with ${code}`)));
    });
    return new Sink(child, `smtp://127.0.0.1:${ready.port}`);
  }

  private ask(msg: { type: string; n?: number }, answer: string): Promise<SinkMessage> {
    return new Promise((resolve) => {
      const on = (m: SinkMessage) => {
        if (m.type === answer) {
          this.child.off('message', on);
          resolve(m);
        }
      };
      this.child.on('message', on);
      this.child.send(msg);
    });
  }

  reset = () => this.ask({ type: 'reset' }, 'reset');
  /** Resolves with the time (ms since epoch) at which the n-th message was received. */
  reached = async (n: number) => (await this.ask({ type: 'waitFor', n }, 'reached')).at!;
  stats = () => this.ask({ type: 'stats' }, 'stats');
  close = () => this.ask({ type: 'close' }, 'never').catch(() => undefined);
  kill = () => {
    this.child.kill();
  };
}

const MAIL_FROM = 'dépêche <alertes@depeche.example>';
const BASE = 'https://alertes.example.fr';

function sampleAlert(): Alert {
  return {
    id: 'benchmark00',
    rev: 1,
    kind: 'original',
    flash: false,
    title: 'Cessez-le-feu au Haut-Karabakh : les combats ont cessé',
    body: 'Les combats ont cessé ce matin, selon les deux camps. Un accord prévoit le désarmement des forces locales et des discussions sur l’avenir de la région.',
    url: 'https://www.exemple.fr/monde/karabakh',
    topics: [],
    urgency: 'high',
    channels: ['email'],
    createdAt: new Date().toISOString(),
    createdBy: 'bench',
  };
}

/**
 * The plain loop: one message rendered once, sent to N addresses through a nodemailer pool, which
 * composes the MIME message on every send. With `raw`, the pool's ceiling instead: one message
 * composed once and sent as is to everyone (no personalisation at all).
 */
async function baseline(run: Running, sink: Sink, o: Options, dkim: DkimConfig | undefined, raw = false): Promise<number> {
  const mail = run.domain.renderer.alertEmail(sampleAlert());
  const fixed = {
    unsubscribe: `${BASE}/api/subscriptions/email/unsubscribe?token=fixe`,
    preferences: `${BASE}/api/subscriptions/email/preferences?token=fixe`,
  };
  const { html, text } = mail.forRecipient(fixed);
  const transport = nodemailer.createTransport({
    url: sink.url,
    pool: true,
    maxConnections: o.pool,
    maxMessages: Infinity,
    dkim: dkim ? { ...dkim, headerFieldNames: DKIM_SIGNED_HEADERS } : undefined,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  const headers = {
    'List-Id': '<alertes.alertes.example.fr>',
    'List-Unsubscribe': `<${fixed.unsubscribe}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
  const composed = raw
    ? ((
        await nodemailer
          .createTransport({ streamTransport: true, buffer: true })
          .sendMail({ from: MAIL_FROM, to: 'lecteur@exemple.fr', subject: mail.subject, html, text, headers })
      ).message as Buffer)
    : undefined;
  await sink.reset();
  const reached = sink.reached(o.n);
  const t0 = Date.now();
  let next = 0;
  // Enough sends in flight to keep every pooled connection busy, as a hand-written loop would.
  await Promise.all(
    Array.from({ length: o.pool * 8 }, async () => {
      while (next < o.n) {
        const i = next++;
        await transport.sendMail(
          composed
            ? { envelope: { from: 'alertes@depeche.example', to: [`lecteur${i}@exemple.fr`] }, raw: composed }
            : {
                from: MAIL_FROM,
                to: `lecteur${i}@exemple.fr`,
                subject: mail.subject,
                html,
                text,
                messageId: `<plain.${i}@alertes.example.fr>`,
                headers,
              },
        );
      }
    }),
  );
  const ms = (await reached) - t0;
  transport.close();
  return ms;
}

/** dépêche: publish one alert to the N confirmed subscribers; time until the last message arrives. */
async function pipeline(run: Running, sink: Sink, o: Options): Promise<number> {
  await sink.reset();
  const reached = sink.reached(o.n);
  const t0 = Date.now();
  const sample = sampleAlert();
  const input = alertInputSchema.parse({ title: sample.title, body: sample.body, url: sample.url, channels: ['email'] });
  const { alert } = await publishAlert({ ...run.domain, queues: run.queues }, input, { name: 'bench', role: 'chief' });
  const ms = (await reached) - t0;
  for (;;) {
    const view = await run.domain.alerts.view(alert.id);
    if (view?.status === 'delivered') {
      if (view.delivery.email.sent !== o.n) throw new Error(`dépêche counted ${view.delivery.email.sent} sent, expected ${o.n}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return ms;
}

async function seed(run: Running, n: number): Promise<void> {
  const subs = run.domain.emailSubscribers;
  for (let from = 0; from < n; from += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - from) }, async (_, k) => {
        const sub = await subs.requestSubscription(`lecteur${from + k}@exemple.fr`, []);
        await subs.confirm(sub.id, sub.statusVersion);
      }),
    );
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);
const fmt = (x: number) => x.toLocaleString('en-US');
const line = (n: number, ms: number, cpuUs: number) =>
  `${fmt(n)} msgs in ${(ms / 1000).toFixed(2)} s = ${fmt(rate(n, ms))} msgs/s, CPU ${Math.round(cpuUs / n)} µs/msg`;

/**
 * One side's run: wall time until the last message arrived, CPU time of this process (sender,
 * workers, Redis and BullMQ clients; not Redis itself, not the SMTP server), distinct links seen.
 */
async function measured(sink: Sink, n: number, side: () => Promise<number>): Promise<{ ms: number; cpu: number; links: number }> {
  const before = process.cpuUsage();
  const ms = await side();
  const cpu = process.cpuUsage(before);
  return { ms, cpu: cpu.user + cpu.system, links: (await sink.stats()).distinctLinks ?? 0 };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'depeche-bench-email-'));
  const sink = await Sink.start();
  const redis = await startPrivateRedis(join(dir, 'redis'));
  const vapid = webpush.generateVAPIDKeys();
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    DATA_DIR: dir,
    PUBLIC_BASE_URL: BASE,
    MAIL_FROM,
    SMTP_URL: sink.url,
    SMTP_POOL_SIZE: String(o.pool),
    TOKEN_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    EDITOR_TOKENS: `bench:${randomBytes(16).toString('hex')}`,
    // A worker-only start with no API: it brings its own VAPID pair instead of waiting for one.
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
  };
  if (o.dkim) {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    Object.assign(env, { DKIM_DOMAIN: 'depeche.example', DKIM_SELECTOR: 'bench', DKIM_PRIVATE_KEY: key });
  }
  const config = loadConfig(env);
  const dkim: DkimConfig | undefined = config.email.dkim;
  const run = await start(config, createLogger(config.logLevel), { api: false, worker: true });
  try {
    console.log(
      `email benchmark: ${fmt(o.n)} confirmed recipients, SMTP pool of ${o.pool} connections, smtp-server on 127.0.0.1 in its own process${o.dkim ? ', DKIM (RSA 2048) on both sides' : ''}`,
    );
    const t = Date.now();
    await seed(run, o.n);
    console.log(`seeded ${fmt(o.n)} confirmed subscribers in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // Warm-up, not counted: JIT, connection pools and Redis scripts get ready on both sides.
    if (o.only !== 'depeche') await baseline(run, sink, o, dkim);
    if (o.only !== 'plain') await pipeline(run, sink, o);
    const plain: number[] = [];
    const ceiling: number[] = [];
    const ours: number[] = [];
    for (let r = 1; r <= o.runs; r++) {
      if (o.only !== 'depeche') {
        const { ms, cpu, links } = await measured(sink, o.n, () => baseline(run, sink, o, dkim));
        plain.push(rate(o.n, ms));
        console.log(`run ${r}  plain nodemailer pooled loop  : ${line(o.n, ms, cpu)} (${links} distinct unsubscribe link)`);
        const c = await measured(sink, o.n, () => baseline(run, sink, o, dkim, true));
        ceiling.push(rate(o.n, c.ms));
        console.log(`run ${r}  pool ceiling, one raw message: ${line(o.n, c.ms, c.cpu)} (${c.links} distinct unsubscribe link)`);
      }
      if (o.only !== 'plain') {
        const { ms, cpu, links } = await measured(sink, o.n, () => pipeline(run, sink, o));
        ours.push(rate(o.n, ms));
        console.log(`run ${r}  dépêche, publish → last msg  : ${line(o.n, ms, cpu)} (${fmt(links)} distinct unsubscribe links)`);
        if (links !== o.n) console.log(`  WARNING: expected ${fmt(o.n)} distinct unsubscribe links, got ${links}`);
      }
    }
    if (o.only) return;
    const ratio = median(ours) / median(plain);
    console.log(
      `median: plain ${fmt(median(plain))} msgs/s, dépêche ${fmt(median(ours))} msgs/s, ratio ${ratio.toFixed(2)} (target ≥ 0.90: ${ratio >= 0.9 ? 'met' : 'NOT met'})`,
    );
    console.log(
      `        pool ceiling ${fmt(median(ceiling))} msgs/s (one unpersonalised raw message); dépêche reaches ${(median(ours) / median(ceiling)).toFixed(2)} of it`,
    );
  } finally {
    await run.stop();
    await redis.stop();
    await sink.close();
    sink.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:email failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
