// `npm start` without REDIS_URL runs a private redis-server with the settings delivery needs:
// AOF (appendfsync everysec: at most about a second of writes lost on a crash) and noeviction
// (an evicted bitmap would silently re-send or drop alerts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export interface PrivateRedis { url: string; port: number; process: ChildProcess; stop(): Promise<void> }

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
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const p = port ?? (await freePort());
  const child = spawn('redis-server', [
    '--bind', '127.0.0.1', '--port', String(p), '--dir', dataDir,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
    '--maxmemory-policy', 'noeviction',
    // Bucketed subscriber hashes stay in the compact listpack encoding up to these sizes.
    '--hash-max-listpack-entries', '1024', '--hash-max-listpack-value', '512',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((res, rej) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ready to accept connections')) { child.stdout?.off('data', onData); res(); }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => rej(new Error(`redis-server exited (${code}): ${out.split('\n').slice(-3).join(' ')}`)));
  });
  return {
    url: `redis://127.0.0.1:${p}`,
    port: p,
    process: child,
    stop: () => new Promise<void>((res) => {
      if (child.exitCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
    }),
  };
}
