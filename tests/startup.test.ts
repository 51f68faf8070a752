// Start-up checks on the Redis we are given: an evicting Redis is refused with one clear line
// (it would silently drop subscribers, outcome bits or queued batches); a Redis that hides CONFIG,
// as managed services do, gets a warning and the service starts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startRedis, type TestRedis } from './support/redis';
import { startPushService, type PushService } from './support/push-service';
import { startSmtpServer, type SmtpSink } from './support/smtp';
import { serviceEnv, spawnService } from './support/processes';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/log';
import { start } from '../src/runtime';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function fakes(): Promise<{ push: PushService; smtp: SmtpSink }> {
  const push = await startPushService();
  const smtp = await startSmtpServer();
  cleanup.push(
    () => push.close(),
    () => smtp.close(),
  );
  return { push, smtp };
}

async function redisWith(args: string[]): Promise<TestRedis> {
  const r = await startRedis(args);
  cleanup.push(() => r.stop());
  return r;
}

test('a Redis with maxmemory-policy allkeys-lru is refused with one clear line, exit 1', async () => {
  const redis = await redisWith(['--maxmemory-policy', 'allkeys-lru']);
  const { push, smtp } = await fakes();
  const proc = spawnService('api', serviceEnv(redis.url, push, smtp));
  const { code } = await proc.waitForExit(30_000);
  assert.equal(code, 1);
  const lines = proc.stderr().trim().split('\n');
  assert.equal(lines.length, 1, proc.stderr());
  assert.match(lines[0], /^failed to start: Redis maxmemory-policy is "allkeys-lru" but dépêche needs "noeviction"/);
  assert.doesNotMatch(proc.stdout(), /API listening/);
});

test('a Redis without CONFIG (managed Redis) gets a warning, and the service starts', async () => {
  const redis = await redisWith(['--rename-command', 'CONFIG', '']);
  const { push, smtp } = await fakes();
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      cb();
    },
  });
  const config = loadConfig({ ...serviceEnv(redis.url, push, smtp), LOG_LEVEL: 'warn' });
  const running = await start(config, createLogger('warn', 'depeche', sink), { api: true, worker: true });
  try {
    const warning = lines.find((l) => /maxmemory-policy/.test(l.msg));
    assert.ok(warning, JSON.stringify(lines));
    assert.equal(warning.level, 40);
    assert.match(warning.msg, /CONFIG is not available.*noeviction/);
    const health = await fetch(`http://127.0.0.1:${running.port!}/api/health`);
    assert.equal(health.status, 200);
  } finally {
    await running.stop();
  }
});

test('a VAPID_SUBJECT Apple would refuse (localhost, an IP, malformed) stops the start with one line saying so, exit 2 (a configuration error)', async () => {
  const { push, smtp } = await fakes();
  // Refused before Redis is ever asked: no server needed behind this address.
  const proc = spawnService('api', serviceEnv('redis://127.0.0.1:1', push, smtp, { VAPID_SUBJECT: 'mailto:admin@localhost' }));
  const { code } = await proc.waitForExit(30_000);
  assert.equal(code, 2);
  const lines = proc.stderr().trim().split('\n');
  assert.equal(lines.length, 1, proc.stderr());
  assert.match(
    lines[0],
    /VAPID_SUBJECT names the local host "localhost"; Apple's push service would refuse every push \(403 BadJwtToken\)/,
  );

  const env = serviceEnv('redis://127.0.0.1:1', push, smtp);
  for (const bad of [
    'mailto:ops@127.0.0.1',
    'https://192.168.1.2/contact',
    'mailto:pas une adresse',
    'mailto:ops@intranet',
    'https:/relative',
    'ops@depeche.fr',
  ]) {
    assert.throws(() => loadConfig({ ...env, VAPID_SUBJECT: bad }), /VAPID_SUBJECT .*Apple/, bad);
  }
  for (const good of ['mailto:alertes@depeche.fr', 'https://www.depeche.fr/contact', 'mailto:tech@depeche.example']) {
    assert.doesNotThrow(() => loadConfig({ ...env, VAPID_SUBJECT: good }), good);
  }
});
