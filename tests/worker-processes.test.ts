// `npm start` uses every core: with WORKER_PROCESSES > 1 the main process serves the API alone
// and WORKER_PROCESSES forked delivery processes run the BullMQ workers, and stop with it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { startRedis } from './support/redis';
import { startPushService } from './support/push-service';
import { startSmtpServer } from './support/smtp';
import { serviceEnv, spawnService } from './support/processes';
import { EDITOR, until } from './support/stack';

/** Redis, the push service and the SMTP sink, stopped after the test. */
async function peers(t: TestContext) {
  const [redis, push, smtp] = await Promise.all([startRedis(), startPushService(), startSmtpServer()]);
  t.after(async () => {
    await push.close();
    await smtp.close();
    await redis.stop();
  });
  return { redis, push, smtp };
}

test('WORKER_PROCESSES=3: the forks join the push queue, an alert is delivered, SIGTERM stops them all', async (t) => {
  const { redis, push, smtp } = await peers(t);
  const env = serviceEnv(redis.url, push, smtp, { WORKER_PROCESSES: '3' });
  const queue = new Queue('push', { connection: { url: redis.url }, prefix: `{${env.REDIS_PREFIX}q}` });
  t.after(() => queue.close());
  const app = spawnService('all', env);
  t.after(() => app.kill('SIGKILL'));
  const listening = await app.waitForLog((l) => l.msg === 'API listening', 30_000);
  await until(async () => (await queue.getWorkersCount()) === 3, 30_000, 100);

  const base = `http://127.0.0.1:${String(listening.port)}`;
  const subs = Array.from({ length: 40 }, () => push.newSubscriber());
  const body = subs.map((b) => JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys } })).join('\n');
  const imported = await fetch(`${base}/api/subscriptions/push/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${EDITOR}` },
    body,
  });
  assert.equal(imported.status, 200);
  const pub = await fetch(`${base}/api/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${EDITOR}` },
    body: JSON.stringify({ title: 'Trois processus', channels: ['push'] }),
  });
  assert.equal(pub.status, 202);
  await push.waitFor(40, 20_000);
  assert.equal(new Set(push.messages.map((m) => m.subscriberId)).size, 40);

  app.kill('SIGTERM');
  assert.deepEqual(await app.waitForExit(30_000), { code: 0, signal: null });
  // The forked processes went too: no push worker is left on the queue.
  await until(async () => (await queue.getWorkersCount()) === 0, 15_000, 100);
});

test('npm start with WORKER_PROCESSES=2: the API has its own process with no delivery worker, two forks deliver, /metrics lists the flash queues', async (t) => {
  const { redis, push, smtp } = await peers(t);
  const env = serviceEnv(redis.url, push, smtp, { WORKER_PROCESSES: '2' });
  const prefix = `{${env.REDIS_PREFIX}q}`;
  const queues = ['push', 'push-flash', 'email', 'email-flash'].map((name) => new Queue(name, { connection: { url: redis.url }, prefix }));
  t.after(() => Promise.all(queues.map((q) => q.close())));
  const app = spawnService('all', env);
  t.after(() => app.kill('SIGKILL'));
  const listening = await app.waitForLog((l) => l.msg === 'API listening', 30_000);
  assert.equal(listening.pid, app.pid, 'the API listens in the process npm start runs');
  // Every delivery queue, flash lanes included, has one worker per fork and none in the API's process.
  for (const q of queues) await until(async () => (await q.getWorkersCount()) === 2, 30_000, 100);
  // A fork's workers register in Redis a moment before its log line reaches us: wait for the line.
  const startedLines = () => app.logs.filter((l) => l.msg === 'workers started');
  await until(async () => startedLines().length >= 2, 30_000, 100);
  const started = startedLines();
  assert.equal(started.length, 2);
  assert.ok(
    started.every((l) => l.pid !== app.pid),
    'no BullMQ worker started in the API process',
  );

  const base = `http://127.0.0.1:${String(listening.port)}`;
  const subs = Array.from({ length: 20 }, () => push.newSubscriber());
  const imported = await fetch(`${base}/api/subscriptions/push/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${EDITOR}` },
    body: subs.map((b) => JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys } })).join('\n'),
  });
  assert.equal(imported.status, 200);
  for (const body of [
    { title: 'Voie normale', channels: ['push'] },
    { title: 'Voie prioritaire', channels: ['push'], flash: true },
  ]) {
    const pub = await fetch(`${base}/api/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${EDITOR}` },
      body: JSON.stringify(body),
    });
    assert.equal(pub.status, 202);
  }
  await push.waitFor(40, 30_000);
  assert.equal(push.messages.length, 40);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /depeche_queue_jobs\{queue="push-flash",state="waiting"\}/);
  assert.match(metrics, /depeche_queue_jobs\{queue="email-flash",state="waiting"\}/);

  app.kill('SIGTERM');
  assert.deepEqual(await app.waitForExit(30_000), { code: 0, signal: null });
  for (const q of queues) await until(async () => (await q.getWorkersCount()) === 0, 15_000, 100);
});
