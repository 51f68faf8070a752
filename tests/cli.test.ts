// The `depeche` command line (issue 19), run as a child process (bin/depeche.js, as `npx depeche`
// runs it) against the real stack: publishing once however often it is retried, following a
// delivery to the end, importing with progress written as plain lines to a pipe, and refusals
// as one line with their exit code.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startStack, editor, EDITOR, type Stack } from './support/stack';
import { seedPush } from './support/newsroom';

const BIN = resolve(__dirname, '../bin/depeche.js');
let s: Stack;
let dir: string;
before(async () => {
  s = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'depeche-cli-'));
});
after(async () => {
  await s.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with stdout and stderr as pipes (not terminals), bounded in time. */
function depeche(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DEPECHE_URL: s.base, DEPECHE_TOKEN: EDITOR, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`depeche ${args.join(' ')} still running after ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

const alertCount = async () =>
  ((await s.api('GET', '/api/alerts?limit=200', undefined, editor())).json.alerts as unknown as unknown[]).length;

test('depeche --help lists every command and the exit codes', async () => {
  const r = await depeche(['--help'], { DEPECHE_TOKEN: '' });
  assert.equal(r.code, 0, r.stderr);
  for (const c of ['publish', 'update', 'correct', 'cancel', 'status', 'subscribers', 'keys', 'audit', 'Exit codes:'])
    assert.ok(r.stdout.includes(c), `help does not mention ${c}`);
});

test('publish --json sends once; the same command retried with its Idempotency-Key answers with the same alert and sends nothing more', async () => {
  const before = await alertCount();
  const args = ['publish', '--json', '--title', 'Crue de la Seine', '--body', 'La Seine dépasse six mètres.', '--channels', 'push'];
  const first = await depeche(args);
  assert.equal(first.code, 0, first.stderr);
  const a = JSON.parse(first.stdout) as { id: string; idempotencyKey: string; title: string };
  assert.equal(a.title, 'Crue de la Seine');
  assert.match(a.idempotencyKey, /^[0-9a-f-]{36}$/);
  const again = await depeche([...args, '--idempotency-key', a.idempotencyKey]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { id: string }).id, a.id);
  assert.equal(await alertCount(), before + 1);
});

/** A proxy in front of the stack that loses the answer to the first POST /api/alerts (after the service handled it). */
async function lossyProxy(): Promise<{ url: string; posts: () => number; server: Server }> {
  let posts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const skip = new Set(['host', 'connection', 'content-length']);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !skip.has(k))) as Record<string, string>;
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const isPost = req.method === 'POST' && req.url === '/api/alerts';
      if (isPost) posts++;
      const lose = isPost && posts === 1;
      void fetch(s.base + (req.url ?? '/'), { method: req.method, headers, body, signal: AbortSignal.timeout(30_000) }).then(async (r) => {
        const text = await r.text();
        if (lose) {
          req.socket.destroy(); // the alert is published; its answer never arrives
          return;
        }
        res.writeHead(r.status, Object.fromEntries(r.headers.entries()));
        res.end(text);
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posts: () => posts, server };
}

test('publish whose first answer is lost retries with the same Idempotency-Key: one alert, exit 0, and the output says it was replayed', async () => {
  const proxy = await lossyProxy();
  try {
    const before = await alertCount();
    const r = await depeche(['publish', '--json', '--title', 'Accord à Bruxelles', '--channels', 'push'], { DEPECHE_URL: proxy.url });
    assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(r.stdout) as { id: string; replayed: boolean };
    assert.equal(proxy.posts(), 2, 'the CLI sent the request twice');
    assert.equal(a.replayed, true);
    assert.equal(await alertCount(), before + 1);
  } finally {
    await new Promise((ok) => proxy.server.close(ok));
  }
});

test('publish --file reads the alert from JSON, flags override its fields', async () => {
  const file = join(dir, 'alerte.json');
  writeFileSync(
    file,
    JSON.stringify({ title: 'Brouillon', body: 'Conseil des ministres exceptionnel.', channels: ['push'], urgency: 'normal' }),
  );
  const r = await depeche(['publish', '--file', file, '--title', 'Conseil des ministres', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const a = JSON.parse(r.stdout) as { title: string; body: string; urgency: string };
  assert.deepEqual([a.title, a.body, a.urgency], ['Conseil des ministres', 'Conseil des ministres exceptionnel.', 'normal']);
});

test('status --watch follows a delivery to 300 push subscribers to the end, as plain lines on a pipe, and exits 0', async () => {
  await seedPush(s, 300);
  const pub = await s.api('POST', '/api/alerts', { title: 'Allocution du président à 20 h', channels: ['push'], flash: true }, editor());
  assert.equal(pub.status, 202, pub.text);
  const r = await depeche(['status', String(pub.json.id), '--watch', '--timeout', '60']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('\u001b['), 'no terminal escapes on a pipe');
  const lines = r.stdout.trim().split('\n');
  for (const l of lines) assert.match(l, /^push \d+\/\d+ \(\d+ %\) envoyés \d+, échecs \d+ \(\w+\)$/);
  assert.match(lines.at(-1) ?? '', /^push (\d+)\/\1 \(100 %\) envoyés \d+, échecs 0 \(delivered\)$/);
  assert.equal((await s.alert(String(pub.json.id))).status, 'delivered');
});

test('subscribers import streams 3,000 lines with progress as plain lines, then the summary names the refused line; export gives them back', async () => {
  const file = join(dir, 'abonnes.ndjson');
  const lines = Array.from({ length: 3000 }, () => {
    const b = s.push.newSubscriber();
    return JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys } });
  });
  lines.splice(1500, 0, '{"subscription":{"endpoint":"pas une adresse"}}');
  writeFileSync(file, lines.join('\n') + '\n');
  const r = await depeche(['subscribers', 'import', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('\u001b['), 'no terminal escapes on a pipe');
  const out = r.stdout.trim().split('\n');
  const progress = out.filter((l) => l.startsWith('import '));
  assert.ok(progress.length >= 1, r.stdout);
  for (const l of progress) assert.match(l, /^import \d+\/\d+ \(\d+ %\) octets, \d+ lignes, \d+ lignes\/s$/);
  assert.match(progress.at(-1) ?? '', /\(100 %\) octets, 3001 lignes/);
  assert.ok(out.includes('importés 3000, mis à jour 0, refusés 1'), r.stdout);
  assert.ok(
    out.some((l) => /^ {2}ligne 1501 : subscription/.test(l)),
    r.stdout,
  );

  const exported = join(dir, 'export.ndjson');
  const e = await depeche(['subscribers', 'export', '--output', exported]);
  assert.equal(e.code, 0, e.stderr);
  const back = readFileSync(exported, 'utf8').trim().split('\n');
  assert.ok(back.length >= 3000, `${back.length} lines exported`);
});

test('a refused command prints one line naming the error and exits 1; usage errors exit 2, an unreachable service 3', async () => {
  const refused = await depeche(['cancel', 'inconnue0000']);
  assert.equal(refused.code, 1);
  assert.equal(refused.stderr, 'depeche: refused: 404 not_found: alert not found\n');
  assert.equal(refused.stdout, '');

  const bad = await depeche(['publish', '--title', '', '--json']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^depeche: refused: 400 invalid_input: title: title is required\n$/);

  const wrongToken = await depeche(['audit'], { DEPECHE_TOKEN: 'pas-le-bon-jeton' });
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.stderr, /^depeche: refused: 401 unauthorized: .+\n$/);

  const noToken = await depeche(['audit'], { DEPECHE_TOKEN: '' });
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /^depeche: DEPECHE_TOKEN is not set/);

  const unknownFlag = await depeche(['publish', '--titre', 'x']);
  assert.equal(unknownFlag.code, 2);

  const away = await depeche(['status', 'abcdefgh'], { DEPECHE_URL: 'http://127.0.0.1:9' });
  assert.equal(away.code, 3);
  assert.equal(away.stderr.split('\n').length, 2, away.stderr);
});

test('keys --json prints a fresh VAPID pair and secrets without needing the service', async () => {
  const r = await depeche(['keys', '--json'], { DEPECHE_TOKEN: '', DEPECHE_URL: '' });
  assert.equal(r.code, 0, r.stderr);
  const k = JSON.parse(r.stdout) as Record<string, string>;
  assert.match(k.VAPID_PUBLIC_KEY ?? '', /^[A-Za-z0-9_-]{87}$/);
  assert.ok(k.SECRETS_KEY && k.TOKEN_SECRET && k.EDITOR_TOKENS);
});

test('audit lists the publications made with the CLI, newest first', async () => {
  const r = await depeche(['audit', '--limit', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.split('\n')[0] ?? '', /^\S+ {2}redaction \(editor\) {2}publish [a-z0-9]+ rév\. 1$/);
});
