// Generated secrets live in Redis, so an API and a worker on different machines (here: different
// DATA_DIRs, started at the same instant, no VAPID in the environment) sign with the key readers
// subscribed with; an old DATA_DIR/secrets.json keeps its key; a worker with another key refuses
// to start; SECRETS_KEY seals what Redis holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpush from 'web-push';
import { startRedis, type TestRedis } from './support/redis';
import { startBackend } from './support/backend';
import { startPushService, type PushService } from './support/push-service';
import { startSmtpServer, type SmtpSink } from './support/smtp';
import { serviceEnv, spawnService, type ServiceProcess } from './support/processes';
import { EDITOR } from './support/stack';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { connectRedis } from '../src/store/redis';
import { keys } from '../src/store/keys';
import { fingerprint, resolveSecrets } from '../src/secrets';

let redis: TestRedis;
let push: PushService;
let smtp: SmtpSink;
const procs: ServiceProcess[] = [];
before(async () => {
  [redis, push, smtp] = await Promise.all([startRedis(), startPushService(), startSmtpServer()]);
});
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await push.close();
  await smtp.close();
  await redis.stop();
});

/** An API and a worker environment: one Redis and prefix, two DATA_DIRs, no generated secret given. */
function twoMachines(): { api: Record<string, string>; worker: Record<string, string> } {
  const strip = (e: Record<string, string>) => {
    const { VAPID_PUBLIC_KEY: _p, VAPID_PRIVATE_KEY: _k, TOKEN_SECRET: _t, ...rest } = e;
    return rest;
  };
  const api = strip(serviceEnv(redis.url, push, smtp));
  return { api, worker: { ...strip(serviceEnv(redis.url, push, smtp)), REDIS_PREFIX: api.REDIS_PREFIX } };
}

function spawn(role: 'api' | 'worker', env: Record<string, string>): ServiceProcess {
  const p = spawnService(role, env);
  procs.push(p);
  return p;
}

/**
 * Starts both (at once, or the worker first until it waits for an API), sends one push alert to a
 * new subscriber; answers the key the API served and the one the push was signed with.
 */
async function deliverThrough(
  env: { api: Record<string, string>; worker: Record<string, string> },
  order: 'at once' | 'worker first' = 'at once',
) {
  const worker = spawn('worker', env.worker);
  if (order === 'worker first') await worker.waitForLog((l) => /waiting for an API/.test(l.msg), 30_000);
  const api = spawn('api', env.api);
  const listening = await api.waitForLog((l) => l.msg === 'API listening', 30_000);
  await worker.waitForLog((l) => l.msg === 'workers started', 30_000);
  const base = `http://127.0.0.1:${String(listening.port)}`;
  const { publicKey } = (await (await fetch(`${base}/api/push/public-key`)).json()) as { publicKey: string };
  // A browser subscribes with the key the API serves: the push service accepts no other.
  const browser = push.newSubscriber({ applicationServerKey: publicKey });
  const sub = await fetch(`${base}/api/subscriptions/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subscription: { endpoint: browser.endpoint, keys: browser.keys } }),
  });
  assert.equal(sub.status, 201);
  const before = push.messages.length;
  const pub = await fetch(`${base}/api/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${EDITOR}` },
    body: JSON.stringify({ title: 'Deux machines', channels: ['push'] }),
  });
  assert.equal(pub.status, 202);
  await push.waitFor(before + 1, 20_000);
  const msg = push.messages.find((m) => m.subscriberId === browser.id);
  assert.ok(msg, 'the push reached the subscriber');
  const fingerprints = await Promise.all(
    [api, worker].map(async (p) => (await p.waitForLog((l) => l.msg === 'VAPID public key')).vapidKey),
  );
  api.kill('SIGTERM');
  worker.kill('SIGTERM');
  await Promise.all([api.exited, worker.exited]);
  return { publicKey, signedWith: msg.vapid.k, fingerprints };
}

test('an API and a worker started at once on two DATA_DIRs share one generated VAPID key through Redis, and the push verifies against the served key', async () => {
  const r = await deliverThrough(twoMachines());
  assert.equal(r.signedWith, r.publicKey);
  assert.deepEqual(r.fingerprints, [fingerprint(r.publicKey), fingerprint(r.publicKey)]);
});

function oldSecretsFile(dataDir: string): string {
  const old = webpush.generateVAPIDKeys();
  writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ vapidPublicKey: old.publicKey, vapidPrivateKey: old.privateKey }), {
    mode: 0o600,
  });
  return old.publicKey;
}

test("an old secrets.json in the API's DATA_DIR, API and worker started at once: the API serves its key and the push is signed with it", async () => {
  const env = twoMachines();
  const old = oldSecretsFile(env.api.DATA_DIR);
  const r = await deliverThrough(env);
  assert.equal(r.publicKey, old);
  assert.equal(r.signedWith, old);
});

test('an old secrets.json in the DATA_DIR of a worker started before the API: the API serves its key and the push is signed with it', async () => {
  const env = twoMachines();
  const old = oldSecretsFile(env.worker.DATA_DIR);
  const r = await deliverThrough(env, 'worker first');
  assert.equal(r.publicKey, old);
  assert.equal(r.signedWith, old);
});

test('a worker whose VAPID key differs from the one the API serves refuses to start with one clear line, exit 1', async () => {
  const env = twoMachines();
  const a = webpush.generateVAPIDKeys();
  const b = webpush.generateVAPIDKeys();
  const api = spawn('api', { ...env.api, VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: a.privateKey });
  await api.waitForLog((l) => l.msg === 'API listening', 30_000);
  const worker = spawn('worker', { ...env.worker, VAPID_PUBLIC_KEY: b.publicKey, VAPID_PRIVATE_KEY: b.privateKey });
  assert.equal((await worker.exited).code, 1);
  const lines = worker.stderr().trim().split('\n');
  assert.equal(lines.length, 1, worker.stderr());
  assert.match(
    lines[0],
    new RegExp(
      `^failed to start: this worker's VAPID public key \\(${fingerprint(b.publicKey)}, from VAPID_PUBLIC_KEY\\) differs from the one the API serves \\(${fingerprint(a.publicKey)}\\)`,
    ),
  );
  assert.doesNotMatch(worker.stdout(), /workers started/);
  api.kill('SIGTERM');
  await api.exited;
});

test('with SECRETS_KEY the generated secrets are sealed in Redis; a process without it, or with another, refuses with one clear line', async () => {
  const { api } = twoMachines();
  const secretsKey = 'k'.repeat(20) + 'sealed-at-rest-0123456789';
  const config = loadConfig({ ...api, SECRETS_KEY: secretsKey });
  const db = connectRedis(config.redis, 'worker');
  try {
    const log = createLogger('silent');
    const secrets = await resolveSecrets(config, db, { role: 'api', log });
    const stored = (await db.get(keys(config.redis.prefix).secrets))!;
    for (const secret of [secrets.vapid.privateKey, secrets.tokenSecret, secrets.editors[0].secret])
      assert.ok(!stored.includes(secret), 'a secret is stored in clear');
    assert.equal((await resolveSecrets(config, db, { role: 'worker', log })).vapid.privateKey, secrets.vapid.privateKey);
    await assert.rejects(
      resolveSecrets(loadConfig(api), db, { role: 'worker', log }),
      /^Error: the generated secrets in Redis are encrypted: set SECRETS_KEY/,
    );
    await assert.rejects(
      resolveSecrets(loadConfig({ ...api, SECRETS_KEY: 'another-key-'.repeat(3) }), db, { role: 'api', log }),
      /^Error: SECRETS_KEY does not decrypt the generated secrets in Redis/,
    );
  } finally {
    db.disconnect();
  }
});

test('on a Redis Cluster an API generates the secrets once and a worker reads the same ones (keys of one slot)', async () => {
  const backend = await startBackend({ cluster: true });
  const config = loadConfig({
    ...backend.env,
    REDIS_PREFIX: 'cs',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'depeche-cs-')),
    SECRETS_KEY: 'cluster-secrets-key-0123456789abcdef',
  });
  const db = connectRedis(config.redis, 'worker');
  try {
    const log = createLogger('silent');
    const [apiSecrets, again] = await Promise.all([
      resolveSecrets(config, db, { role: 'api', log }),
      resolveSecrets(config, db, { role: 'api', log }),
    ]);
    assert.deepEqual(again.vapid, apiSecrets.vapid);
    const workerSecrets = await resolveSecrets(config, db, { role: 'worker', log });
    assert.deepEqual(workerSecrets.vapid, apiSecrets.vapid);
    assert.equal(workerSecrets.tokenSecret, apiSecrets.tokenSecret);
  } finally {
    db.disconnect();
    await backend.stop();
  }
});
