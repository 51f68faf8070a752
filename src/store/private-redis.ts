// `npm start` without REDIS_URL runs a private redis-server with the settings delivery needs:
// AOF (appendfsync everysec: at most about a second of writes lost on a crash) and noeviction
// (an evicted bitmap would silently re-send or drop alerts).
// It holds subscribers' addresses and push keys, so another local user must not read it: it asks
// for a password generated once into its folder (0600; it is needed before Redis is reachable, so
// it cannot live in Redis), the password reaches it in a 0600 config file rather than on the
// command line (which `ps` shows to everyone), and it runs under umask 077 so its files are 0600.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { PRIVATE_FILE_MODE, narrowTree, privateDir } from '../data-dir';

export interface PrivateRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export async function startPrivateRedis(dir: string, port?: number): Promise<PrivateRedis> {
  const dataDir = privateDir(resolve(dir));
  narrowTree(dataDir);
  const p = port ?? (await freePort());
  const password = readOrCreatePassword(join(dataDir, 'password'));
  const conf = join(dataDir, 'redis.conf');
  writeFileSync(
    conf,
    [
      'bind 127.0.0.1',
      `port ${p}`,
      `dir "${dataDir}"`,
      `requirepass ${password}`,
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      'maxmemory-policy noeviction',
      // Bucketed subscriber hashes stay in the compact listpack encoding up to these sizes.
      'hash-max-listpack-entries 1024',
      'hash-max-listpack-value 512',
      '',
    ].join('\n'),
    { mode: PRIVATE_FILE_MODE },
  );
  const child = spawn('sh', ['-c', 'umask 077 && exec redis-server "$0"', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((res, rej) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        res();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => rej(new Error(`redis-server exited (${code}): ${out.split('\n').slice(-3).join(' ')}`)));
  });
  return {
    url: `redis://:${password}@127.0.0.1:${p}`,
    port: p,
    process: child,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}

function readOrCreatePassword(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('hex');
  writeFileSync(file, password, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  return password;
}
