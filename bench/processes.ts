// The processes a bench run starts, each as it would run in production: a private redis-server,
// the push service, the API (`npm run api`) and the delivery workers (`npm run worker`, which
// forks WORKER_PROCESSES − 1 more), plus the plain web-push baseline.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';
import type { ServiceStats } from './push-service';
import type { BaselineJob, BaselineResult } from './baseline';

const root = join(__dirname, '..');

/** Forks a TypeScript entry point with the loader this process runs under (tsx). */
function forkTs(file: string, args: string[], env?: Record<string, string>, extraExecArgv: string[] = []): ChildProcess {
  return fork(join(root, file), args, {
    execArgv: [...process.execArgv, ...extraExecArgv],
    ...(env ? { env } : {}),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export class PushServiceProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly origin: string,
    readonly ca: string,
  ) {}

  static async start(poolFile: string, decryptEvery: number): Promise<PushServiceProcess> {
    const child = forkTs('bench/push-service.ts', [poolFile, String(decryptEvery)]);
    const [ready] = (await once(child, 'message')) as [{ origin: string; ca: string }];
    return new PushServiceProcess(child, ready.origin, ready.ca);
  }

  get pid(): number {
    return this.child.pid!;
  }

  reset(title: string): void {
    this.child.send({ kind: 'reset', title });
  }

  async stats(): Promise<ServiceStats> {
    this.child.send({ kind: 'stats' });
    for (;;) {
      const [m] = (await once(this.child, 'message')) as [{ kind: string; stats: ServiceStats }];
      if (m.kind === 'stats') return m.stats;
    }
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGKILL');
  }
}

/** The API, or the delivery workers, started as `npm run api` / `npm run worker` would. */
export function startService(role: 'api' | 'worker', env: Record<string, string>, profileDir?: string): ChildProcess {
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  return role === 'api' ? forkTs('src/main.ts', ['--api'], env, prof) : forkTs('workers/main.ts', [], env, prof);
}

export async function runBaseline(job: BaselineJob, onProgress: (done: number) => void): Promise<BaselineResult> {
  const child = forkTs('bench/baseline.ts', []);
  child.send(job);
  return new Promise((resolve, reject) => {
    child.on('message', (m: { kind: string; done?: number; result?: BaselineResult }) => {
      if (m.kind === 'progress') onProgress(m.done!);
      if (m.kind === 'done') resolve(m.result!);
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`baseline exited with ${code}`));
    });
  });
}
