// A real 3-master Redis Cluster on loopback: three redis-server processes with cluster mode on,
// joined by `redis-cli --cluster create`, no replicas. Starts in about a second.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/store/private-redis';
import { exitOf } from './wait';

export interface TestCluster {
  /** The value for REDIS_CLUSTER_NODES: `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`. */
  nodes: string;
  ports: number[];
  /** Runs redis-cli against one node (`-c` follows MOVED); returns its output. */
  cli(port: number, ...args: string[]): string;
  stop(): Promise<void>;
}

const MASTERS = 3;

const exited = (child: ChildProcess): Promise<void> => exitOf(child, 10_000, 'cluster redis-server');

async function poll(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`redis cluster: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function cli(port: number, password: string | undefined, ...args: string[]): string {
  const auth = password ? ['-a', password, '--no-auth-warning'] : [];
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** `password`: every node requires it (requirepass), as managed clusters do. */
/**
 * Three masters on free ports. A port found free can be taken by another test's server before
 * ours binds it (the runner runs two files at once, and other processes share the machine): a
 * node that never answers is taken for that, and the cluster is started again on new ports.
 */
export async function startRedisCluster(opts: { password?: string } = {}): Promise<TestCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !err.message.includes('did not answer PING')) throw err;
    }
  }
}

async function startOnce(opts: { password?: string }): Promise<TestCluster> {
  const pw = opts.password;
  const root = mkdtempSync(join(tmpdir(), 'depeche-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < MASTERS; i++) {
    let p = await freePort();
    // The cluster bus listens on port + 10000: both must be free and below 65536.
    while (p + 10000 > 65535 || ports.includes(p)) p = await freePort();
    ports.push(p);
  }
  const children = ports.map((port) => {
    const dir = join(root, String(port));
    mkdirSync(dir);
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '5000',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
        '--hash-max-listpack-entries',
        '1024',
        '--hash-max-listpack-value',
        '512',
        ...(pw ? ['--requirepass', pw, '--masterauth', pw] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return child;
  });
  const reap = (): void => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('exit', reap);
  try {
    for (const port of ports) {
      await poll(
        `node ${port} did not answer PING`,
        () => {
          try {
            return cli(port, pw, 'PING').trim() === 'PONG';
          } catch {
            return false;
          }
        },
        20_000,
      );
    }
    cli(ports[0], pw, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes');
    // `create` returns once slots are assigned; every node must also agree the cluster is up.
    for (const port of ports) {
      await poll(
        `node ${port} did not report cluster_state:ok`,
        () => cli(port, pw, 'CLUSTER', 'INFO').includes('cluster_state:ok'),
        15_000,
      );
    }
  } catch (err) {
    reap();
    process.removeListener('exit', reap);
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    ports,
    cli: (port, ...args) => cli(port, pw, ...args),
    async stop() {
      process.removeListener('exit', reap);
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map(exited));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
