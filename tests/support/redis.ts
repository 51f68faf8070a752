import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOf } from './wait';

export interface TestRedis {
  url: string;
  port: number;
  /** Data directory holding the AOF ('' when REDIS_URL is used). */
  dir: string;
  /** Graceful shutdown and removal of the data directory. */
  stop(): Promise<void>;
  /** Send a signal, e.g. 'SIGKILL' to simulate a crash; restart() brings it back. */
  kill(signal?: NodeJS.Signals): void;
  /** Start again on the same port and dir (the AOF is replayed); stops it first if still running. */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

// Bind port 0 and release it: the kernel picked a port nobody uses right now.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One PING over a raw socket; avoids a client library's reconnect noise while polling. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// redis-server writes its AOF and exits in well under a second; ten leave room for a loaded machine.
const exited = (child: ChildProcess): Promise<void> => exitOf(child, 10_000, 'redis-server');

function spawnRedis(port: number, dir: string, extraArgs: readonly string[] = []): { child: ChildProcess; log: () => string } {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
      '--dir',
      dir,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (d: Buffer): void => {
    // Only the tail matters for diagnosing a failed start.
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => output };
}

async function waitReady(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}:\n${log()}`);
    if (await ping(port)) return;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on ${port} within ${START_TIMEOUT_MS} ms:\n${log()}`);
}

/** `extraArgs` are appended to redis-server's command line (a later option overrides an earlier one). */
export async function startRedis(extraArgs: readonly string[] = []): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external) {
    const unsupported = (): never => {
      throw new Error('kill/restart need a spawned redis-server; unset REDIS_URL');
    };
    return {
      url: external,
      port: Number(new URL(external).port || 6379),
      dir: '',
      stop: async () => undefined,
      kill: unsupported,
      restart: unsupported,
    };
  }

  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'depeche-redis-'));
  let current = spawnRedis(port, dir, extraArgs);
  // Never leave a redis-server behind when a test run dies early.
  const reap = (): void => {
    current.child.kill('SIGKILL');
  };
  process.once('exit', reap);
  await waitReady(port, current.child, current.log);

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      process.removeListener('exit', reap);
      current.child.kill('SIGTERM');
      await exited(current.child);
      rmSync(dir, { recursive: true, force: true });
    },
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      current.child.kill(signal);
    },
    async restart() {
      // A restart without a prior kill() is a graceful one.
      if (current.child.exitCode === null && current.child.signalCode === null) current.child.kill('SIGTERM');
      await exited(current.child);
      current = spawnRedis(port, dir, extraArgs);
      await waitReady(port, current.child, current.log);
    },
  };
}
