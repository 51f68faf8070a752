// `npm run worker` with METRICS_PORT: GET /health says whether Redis answers and every queue has
// its worker running (what a container healthcheck polls), and GET /metrics counts the sends of
// the delivery process it forked as well as its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis } from './support/redis';
import { startPushService } from './support/push-service';
import { startSmtpServer } from './support/smtp';
import { serviceEnv, spawnService, startApi } from './support/processes';
import { EDITOR, until } from './support/stack';

function counter(metrics: string, line: string): number {
  const m = new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

test("a worker with METRICS_PORT serves /health (200, then 503 once Redis is gone) and /metrics that adds up its forked process's sends", async (t) => {
  const [redis, push, smtp] = await Promise.all([startRedis(), startPushService(), startSmtpServer()]);
  t.after(async () => {
    await push.close();
    await smtp.close();
  });
  const env = serviceEnv(redis.url, push, smtp, { BATCH_SIZE: '64', WORKER_CONCURRENCY: '1' });
  const { proc: api, base } = await startApi(env);
  t.after(() => api.kill('SIGKILL'));
  const worker = spawnService('worker', { ...env, WORKER_PROCESSES: '2', METRICS_PORT: '0' });
  t.after(() => worker.kill('SIGKILL'));
  const listening = await worker.waitForLog((l) => l.msg === 'worker /health and /metrics listening', 30_000);
  const metricsBase = `http://127.0.0.1:${String(listening.port)}`;
  // Both processes (the worker and its fork) have their workers running.
  await until(async () => worker.logs.filter((l) => l.msg === 'workers started').length === 2, 30_000, 100);

  const health = await fetch(`${metricsBase}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), {
    status: 'ok',
    redis: 'ok',
    queues: {
      fanout: 'running',
      push: 'running',
      email: 'running',
      'push-flash': 'running',
      'email-flash': 'running',
      mail: 'running',
      digest: 'running',
      webhook: 'running',
    },
    push: { origins: 0, open: 0 },
  });

  const n = 640;
  const subs = Array.from({ length: n }, () => push.newSubscriber());
  const imported = await fetch(`${base}/api/subscriptions/push/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${EDITOR}` },
    body: subs.map((b) => JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys } })).join('\n'),
  });
  assert.equal(imported.status, 200);
  const pub = await fetch(`${base}/api/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${EDITOR}` },
    body: JSON.stringify({ title: 'Compté partout', channels: ['push'] }),
  });
  assert.equal(pub.status, 202);
  await push.waitFor(n, 30_000);
  // Two connections to the push service: both processes sent some of the batches.
  assert.ok(push.sessions >= 2, `only ${push.sessions} process(es) sent`);

  // A send is counted once its answer is recorded, a moment after the push service has it.
  const metrics = await until(
    async () => {
      const text = await (await fetch(`${metricsBase}/metrics`)).text();
      return counter(text, 'depeche_deliveries_total{channel="push",outcome="sent"}') >= n ? text : null;
    },
    10_000,
    100,
  );
  assert.equal(counter(metrics, 'depeche_deliveries_total{channel="push",outcome="sent"}'), n);
  assert.equal(counter(metrics, 'depeche_publish_to_delivery_seconds_count{channel="push"}'), n);
  assert.equal((await fetch(`${metricsBase}/other`)).status, 404);

  await redis.stop();
  const down = await fetch(`${metricsBase}/health`);
  assert.equal(down.status, 503);
  assert.equal(((await down.json()) as { redis: string }).redis, 'unreachable');
});
