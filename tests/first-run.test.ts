// The first `npm start` on a fresh machine, with nothing configured but where to listen and where
// to keep data: the service runs its own redis-server (AOF on, noeviction) under DATA_DIR, writes
// mail to DATA_DIR/outbox when no SMTP server is set, generates its secrets once (the editor token
// is printed on that start only) and keeps them across restarts, and accepts push endpoints of the
// default push services only, wildcards included. Everything is seen from outside the process:
// its output, its HTTP answers, its Redis and its files. No push is ever sent: the allowlisted
// endpoints below are real services, off loopback.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { simpleParser } from 'mailparser';
import { spawnService, type ServiceProcess } from './support/processes';
import { until } from './support/stack';

const dataDir = mkdtempSync(join(tmpdir(), 'depeche-first-run-'));
// All a first run is given: no REDIS_URL, SMTP_URL, VAPID keys, EDITOR_TOKENS, TOKEN_SECRET or
// PUSH_ALLOWED_ORIGINS. One process, so a restart is one SIGTERM.
const ENV = { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, WORKER_PROCESSES: '1', LOG_LEVEL: 'info' };
const TOKEN_LINE = /Editor token generated \(shown once, keep it\): (\S+)/g;

let running: ServiceProcess | undefined;
after(async () => {
  if (running) {
    running.kill('SIGTERM');
    await running.waitForExit(30_000);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function startOnce(): Promise<{ proc: ServiceProcess; base: string }> {
  const proc = spawnService('all', ENV);
  running = proc;
  const line = await proc.waitForLog((l) => l.msg === 'API listening', 60_000);
  return { proc, base: `http://127.0.0.1:${String(line.port)}` };
}

async function stop(proc: ServiceProcess): Promise<void> {
  proc.kill('SIGTERM');
  const { code } = await proc.waitForExit(30_000);
  running = undefined;
  assert.equal(code, 0, proc.stderr());
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const browserKeys = () => ({
  p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
  auth: randomBytes(16).toString('base64url'),
});
const subscribe = (base: string, endpoint: string) =>
  call(base, 'POST', '/api/subscriptions/push', { subscription: { endpoint, keys: browserKeys() } });

// What the first start showed, for the restart to compare with.
let firstKey = '';
let firstToken = '';
let firefoxId = '';
let firstBase = '';
let confirmPath = '';
const FIREFOX = `https://updates.push.services.mozilla.com/wpush/v2/${randomBytes(12).toString('hex')}`;

test('first start with nothing configured: a private redis-server with AOF and noeviction, the editor token printed once, the default push allowlist with its wildcards', async () => {
  const { proc, base } = await startOnce();
  firstBase = base;

  const started = proc.logs.find((l) => l.msg === 'started a private redis-server (AOF on, noeviction)');
  assert.ok(started, proc.stdout().slice(-1000));
  // It wants the password generated into its folder: no other local user can read our data.
  const password = readFileSync(join(dataDir, 'redis', 'password'), 'utf8').trim();
  const redis = new Redis({ host: '127.0.0.1', port: Number(started.port), password, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const setting = async (name: string) => (await redis.config('GET', name))[1];
    assert.equal(await setting('appendonly'), 'yes');
    assert.equal(await setting('appendfsync'), 'everysec');
    assert.equal(await setting('maxmemory-policy'), 'noeviction');
    assert.equal(await setting('bind'), '127.0.0.1');
    assert.ok((await setting('dir')).startsWith(dataDir), 'its data lives under DATA_DIR');
  } finally {
    redis.disconnect();
  }

  const printed = [...proc.stdout().matchAll(TOKEN_LINE)];
  assert.equal(printed.length, 1, 'the generated editor token is printed exactly once');
  firstToken = printed[0][1]!;
  assert.equal((await call(base, 'GET', '/api/alerts', undefined, firstToken)).status, 200, 'the printed token is an editor token');
  assert.equal((await call(base, 'GET', '/api/alerts', undefined, 'not-the-token')).status, 401);
  assert.doesNotMatch(JSON.stringify(proc.logs), new RegExp(firstToken), 'the token is printed, never logged');

  const key = await call(base, 'GET', '/api/push/public-key');
  firstKey = String(key.json.publicKey);
  assert.equal(Buffer.from(firstKey, 'base64url').length, 65, 'a generated P-256 VAPID public key');

  // The default allowlist: FCM, Mozilla's shards (*.push.services.mozilla.com), Apple, WNS shards.
  const accepted = [
    FIREFOX,
    'https://fcm.googleapis.com/fcm/send/abc',
    'https://web.push.apple.com/QGh1',
    'https://wns2-par02p.notify.windows.com/w/?token=abc',
  ];
  for (const endpoint of accepted) {
    const r = await subscribe(base, endpoint);
    assert.equal(r.status, 201, `${endpoint}: ${JSON.stringify(r.json)}`);
    if (endpoint === FIREFOX) firefoxId = String(r.json.id);
  }
  const refused = [
    'https://push.services.mozilla.com/wpush/v2/abc', // the wildcard needs a subdomain
    'https://updates.push.services.mozilla.com.evil.example/wpush/v2/abc',
    'https://evilpush.services.mozilla.com/abc', // a suffix of the name, not a subdomain
    'https://updates.push.services.mozilla.com:8443/wpush/v2/abc',
    'http://updates.push.services.mozilla.com/wpush/v2/abc',
    'https://127.0.0.1/push/abc',
  ];
  for (const endpoint of refused) {
    const r = await subscribe(base, endpoint);
    assert.equal(r.status, 400, `${endpoint} must be refused: ${JSON.stringify(r.json)}`);
    assert.match(JSON.stringify(r.json.error), /"code":"invalid_input".*(allowlist|https)/);
  }
});

test('without SMTP_URL, mail is written to DATA_DIR/outbox as .eml files', async () => {
  assert.ok(running && firstBase, 'the first start is still running');
  const r = await call(firstBase, 'POST', '/api/subscriptions/email', { email: 'premiere@exemple.fr' });
  assert.equal(r.status, 202);
  const outbox = join(dataDir, 'outbox');
  const file = await until(
    async () => {
      try {
        return readdirSync(outbox).find((f) => f.endsWith('.eml'));
      } catch {
        return undefined;
      }
    },
    20_000,
    100,
  );
  const mail = await simpleParser(readFileSync(join(outbox, file)));
  assert.equal(mail.to && !Array.isArray(mail.to) ? mail.to.text : '', 'premiere@exemple.fr');
  assert.equal(mail.subject, 'Confirmez votre abonnement aux alertes');
  const link = /\/api\/subscriptions\/email\/confirm\?token=[\w.-]+/.exec(mail.text ?? '');
  assert.ok(link, 'the confirmation link is in it');
  confirmPath = link[0];
});

test('a restart keeps the generated VAPID key, token key and editor token, prints no token, and finds its Redis data again', async () => {
  assert.ok(running && firstKey && firstToken && confirmPath, 'the first start ran');
  await stop(running);
  const { proc, base } = await startOnce();
  assert.equal([...proc.stdout().matchAll(TOKEN_LINE)].length, 0, 'no token printed on a later start');
  assert.equal(
    String((await call(base, 'GET', '/api/push/public-key')).json.publicKey),
    firstKey,
    'the same VAPID identity: subscriptions stay valid',
  );
  assert.equal(
    (await call(base, 'GET', '/api/alerts', undefined, firstToken)).status,
    200,
    'the token printed on the first start still works',
  );
  // The private redis-server replayed its AOF: the Firefox subscription is known, same id.
  const again = await subscribe(base, FIREFOX);
  assert.equal(again.status, 201);
  assert.equal(String(again.json.id), firefoxId);
  // The link mailed before the restart was signed with the generated token key: it still works.
  const confirmed = await fetch(base + confirmPath, {
    method: 'POST',
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(20_000),
  });
  assert.equal(confirmed.status, 200);
  assert.equal(((await confirmed.json()) as { status?: string }).status, 'confirmed');
});
