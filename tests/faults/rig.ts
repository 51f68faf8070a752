// What every fault scenario needs: a real redis-server (with AOF, killable) or, after
// useCluster() (support/on-cluster.ts), a 3-master Redis Cluster; the local push
// service and SMTP sink, the service as child processes (API and workers), fast seeding of
// subscribers through the real store, and counts of what each subscriber received.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connectRedis, type RedisClient } from '../../src/store/redis';
import type { Keys } from '../../src/store/keys';
import type { PushSubscribers } from '../../src/store/push-subscribers';
import type { EmailSubscribers } from '../../src/store/email-subscribers';
import type { Alerts, AlertView } from '../../src/store/alerts';
import { loadConfig } from '../../src/config';
import { resolveSecrets } from '../../src/secrets';
import { createLogger } from '../../src/log';
import { createDomain } from '../../src/services';
import type { TestRedis } from '../support/redis';
import type { TestCluster } from '../support/redis-cluster';
import { startBackend } from '../support/backend';
import { startPushService, type PushService, type TestSubscriber } from '../support/push-service';
import { startSmtpServer, type SmtpSink } from '../support/smtp';
import { serviceEnv, startApi, startWorker, type ServiceProcess } from '../support/processes';
import { EDITOR, until } from '../support/stack';

export interface Rig {
  /** The single redis-server; on a cluster, a stand-in whose url/kill/restart throw. */
  redis: TestRedis;
  /** Set when the rig runs on a Redis Cluster. */
  cluster?: TestCluster;
  push: PushService;
  smtp: SmtpSink;
  env: Record<string, string>;
  /** A connection of the test's own, through the real store modules (it waits out outages). */
  db: RedisClient;
  keys: Keys;
  alerts: Alerts;
  pushSubscribers: PushSubscribers;
  emailSubscribers: EmailSubscribers;
  api(): Promise<string>;
  worker(): Promise<ServiceProcess>;
  seedPush(n: number): Promise<TestSubscriber[]>;
  seedEmail(n: number): Promise<string[]>;
  publish(input: Record<string, unknown>): Promise<string>;
  /** Waits until the alert's batches have all finished (read from Redis, not through the API). */
  delivered(id: string, timeoutMs: number): Promise<AlertView>;
  stop(): Promise<void>;
}

export async function startRig(extraEnv: Record<string, string> = {}): Promise<Rig> {
  const backend = await startBackend();
  const redis = backend.redis;
  const push = await startPushService();
  const smtp = await startSmtpServer();
  const env = serviceEnv(backend.env, push, smtp, extraEnv);
  // The same domain objects the service builds, on the test's own connection.
  const config = loadConfig(env);
  const db = connectRedis(config.redis, 'worker');
  db.on('error', () => undefined); // the scenarios kill Redis on purpose; this client just waits
  const {
    keys: k,
    pushSubscribers,
    emailSubscribers,
    alerts,
  } = createDomain(config, await resolveSecrets(config, db, { role: 'api', log: createLogger('silent') }), createLogger('silent'), db);
  const procs: ServiceProcess[] = [];
  let base: string | undefined;
  const api = async (): Promise<string> => {
    if (!base) {
      const a = await startApi(env);
      procs.push(a.proc);
      base = a.base;
    }
    return base;
  };

  return {
    redis,
    cluster: backend.cluster,
    push,
    smtp,
    env,
    db,
    keys: k,
    alerts,
    pushSubscribers,
    emailSubscribers,
    api,
    worker: async () => {
      const w = await startWorker(env);
      procs.push(w);
      return w;
    },
    seedPush: async (n) => {
      const subs = Array.from({ length: n }, () => push.newSubscriber());
      // Many upserts at once: ioredis pipelines them, so 10,000 take a second or two.
      await inChunks(subs, 500, (s) =>
        pushSubscribers.upsert({
          endpoint: s.endpoint,
          p256dh: Buffer.from(s.keys.p256dh, 'base64url'),
          auth: Buffer.from(s.keys.auth, 'base64url'),
          topics: [],
        }),
      );
      return subs;
    },
    seedEmail: async (n) => {
      const tag = randomBytes(3).toString('hex');
      const addresses = Array.from({ length: n }, (_, i) => `lecteur${i}.${tag}@exemple.fr`);
      await inChunks(addresses, 200, async (a) => {
        const s = await emailSubscribers.requestSubscription(a, []);
        await emailSubscribers.confirm(s.id, s.statusVersion);
      });
      return addresses;
    },
    publish: async (input) => {
      const res = await fetch(`${await api()}/api/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${EDITOR}` },
        body: JSON.stringify(input),
        signal: AbortSignal.timeout(20_000),
      });
      const json = (await res.json()) as { id?: string };
      if (res.status !== 202 || !json.id) throw new Error(`publish answered ${res.status}: ${JSON.stringify(json)}`);
      return json.id;
    },
    delivered: (id, timeoutMs) =>
      until(
        async () => {
          const v = await alerts.view(id);
          return v?.status === 'delivered' ? v : null;
        },
        timeoutMs,
        100,
      ),
    stop: async () => {
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.waitForExit(10_000)));
      db.disconnect();
      await push.close();
      await smtp.close();
      await backend.stop();
    },
  };
}

async function inChunks<T>(items: readonly T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** What the push service received: per subscriber, how many times. */
export function pushTally(push: PushService, title?: string): { total: number; unique: number; duplicates: number } {
  const per = new Map<string, number>();
  for (const m of push.messages) {
    if (title !== undefined && (m.json() as { title?: string }).title !== title) continue;
    per.set(m.subscriberId, (per.get(m.subscriberId) ?? 0) + 1);
  }
  const total = [...per.values()].reduce((a, b) => a + b, 0);
  return { total, unique: per.size, duplicates: total - per.size };
}

/** Resident memory of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
