// Another local user can read nothing of ours: `npm start` without REDIS_URL creates DATA_DIR
// 0700, its private redis-server refuses a connection without the generated password (kept in a
// 0600 file, never on the command line), its files are 0600, and so are the outbox's .eml files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPushService } from './support/push-service';
import { startSmtpServer } from './support/smtp';
import { serviceEnv, spawnService } from './support/processes';
import { createMailTransport } from '../src/email/transport';
import { createLogger } from '../src/log';

const mode = (path: string) => statSync(path).mode & 0o777;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).map((e) => join(e.parentPath, e.name));
}

/** One raw command to the server, as any local user could send it with redis-cli. */
function redisCli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }).stdout.trim();
}

test('npm start without REDIS_URL: DATA_DIR is 0700, every file under it 0600, and its redis-server refuses a client without the password', async (t) => {
  const [push, smtp] = await Promise.all([startPushService(), startSmtpServer()]);
  t.after(async () => {
    await push.close();
    await smtp.close();
  });
  const { REDIS_URL: _url, ...env } = serviceEnv('redis://unused', push, smtp);
  const dataDir = join(mkdtempSync(join(tmpdir(), 'depeche-local-')), 'data');
  // What an older version left behind: a readable folder and AOF file.
  mkdirSync(join(dataDir, 'redis', 'appendonlydir'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dataDir, 'redis', 'old-dump.rdb'), '', { mode: 0o644 });
  const app = spawnService('all', { ...env, DATA_DIR: dataDir });
  t.after(() => app.kill('SIGKILL'));
  const started = await app.waitForLog((l) => /private redis-server/.test(l.msg), 30_000);
  await app.waitForLog((l) => l.msg === 'API listening', 30_000);
  const port = Number(started.port);

  assert.match(redisCli(port, 'PING'), /NOAUTH/);
  assert.match(redisCli(port, 'GET', 'x'), /NOAUTH/);
  const password = readFileSync(join(dataDir, 'redis', 'password'), 'utf8').trim();
  assert.equal(
    spawnSync('redis-cli', ['-p', String(port), '--no-auth-warning', '-a', password, 'PING'], { encoding: 'utf8' }).stdout.trim(),
    'PONG',
  );
  // The password is not on the server's command line, which every local user can read.
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
  assert.ok(!ps.includes(password), 'the password shows in ps');

  assert.equal(mode(dataDir), 0o700);
  for (const f of filesUnder(dataDir)) {
    assert.equal(mode(f), statSync(f).isDirectory() ? 0o700 : 0o600, `${f} is ${mode(f).toString(8)}`);
  }
  assert.ok(filesUnder(join(dataDir, 'redis', 'appendonlydir')).length > 0, 'redis wrote its AOF');
  app.kill('SIGTERM');
  assert.equal((await app.exited).code, 0);
});

test('without SMTP_URL the outbox folder is 0700 and each .eml file 0600', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'depeche-outbox-')), 'data');
  const transport = createMailTransport(
    { poolSize: 1, from: 'dépêche <alertes@depeche.example>', timeoutMs: 1000, dataDir },
    createLogger('silent'),
  );
  await transport.send({
    to: 'lectrice@exemple.fr',
    subject: 'Essai',
    html: '<p>Essai</p>',
    text: 'Essai',
    messageId: '<essai@depeche.example>',
  });
  transport.close();
  const outbox = join(dataDir, 'outbox');
  assert.equal(mode(dataDir), 0o700);
  assert.equal(mode(outbox), 0o700);
  const files = readdirSync(outbox);
  assert.equal(files.length, 1);
  assert.equal(mode(join(outbox, files[0])), 0o600);
});
