// The production build: `npm run build` compiles to dist/, and `node dist/src/main.js --api` with
// `node dist/workers/main.js` (plus the delivery process it forks) runs the pipeline end to end
// without tsx: templates and the console are found from dist, a push and an email arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startRedis } from './support/redis';
import { startPushService } from './support/push-service';
import { startSmtpServer } from './support/smtp';
import { serviceEnv, startApi, startWorker } from './support/processes';
import { EDITOR } from './support/stack';

test('npm run build, then node dist/src/main.js --api and node dist/workers/main.js deliver an alert by push and by email', async (t) => {
  const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  assert.ok(existsSync('dist/src/main.js') && existsSync('dist/workers/main.js'));

  const [redis, push, smtp] = await Promise.all([startRedis(), startPushService(), startSmtpServer()]);
  t.after(async () => {
    await push.close();
    await smtp.close();
    await redis.stop();
  });
  const env = serviceEnv(redis.url, push, smtp);
  const { proc: api, base } = await startApi(env, { compiled: true });
  t.after(() => api.kill('SIGKILL'));
  const worker = await startWorker({ ...env, WORKER_PROCESSES: '2' }, { compiled: true });
  t.after(() => worker.kill('SIGKILL'));
  await worker.waitForLog((l) => l.msg === 'delivery workers run in several processes');
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(base + path, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  // Templates and static files are read from the project folder, not from dist.
  assert.equal((await call('GET', '/console')).status, 200);
  assert.equal((await call('GET', '/api/health')).status, 200);

  const browser = push.newSubscriber();
  assert.equal(
    (await call('POST', '/api/subscriptions/push', { subscription: { endpoint: browser.endpoint, keys: browser.keys } })).status,
    201,
  );
  assert.equal((await call('POST', '/api/subscriptions/email', { email: 'lectrice@exemple.fr' })).status, 202);
  await smtp.waitFor(1, 15_000);
  const link = /https:\/\/alertes\.example\.fr(\/api\/subscriptions\/email\/confirm\?token=[\w.-]+)/.exec(smtp.messages[0].text);
  assert.ok(link, 'the confirmation mail has its link');
  assert.equal((await call('POST', link[1], undefined, { accept: 'application/json' })).status, 200);

  const pub = await call('POST', '/api/alerts', { title: 'Compilé', body: 'Sans tsx.' }, { authorization: `Bearer ${EDITOR}` });
  assert.equal(pub.status, 202);
  await push.waitFor(1, 15_000);
  await smtp.waitFor(2, 15_000);
  assert.equal((push.messages[0].json() as { title: string }).title, 'Compilé');
  assert.equal(smtp.messages[1].subject, 'Compilé');
  assert.match(smtp.messages[1].text, /Sans tsx/);

  worker.kill('SIGTERM');
  api.kill('SIGTERM');
  assert.deepEqual(await worker.exited, { code: 0, signal: null });
  assert.deepEqual(await api.exited, { code: 0, signal: null });
});
