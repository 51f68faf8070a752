import type { ChildProcess } from 'node:child_process';

/**
 * Lets tests await "at least n things have happened" without polling loops.
 * `count` reads the current total; call `notify()` after it grows.
 */
export class CountWaiter {
  private waiters: Array<{ n: number; done: () => void }> = [];

  constructor(
    private readonly what: string,
    private readonly count: () => number,
    // Extra context for the timeout message, so a failing test says why nothing arrived.
    private readonly hint: () => string = () => '',
  ) {}

  wait(n: number, timeoutMs: number): Promise<void> {
    if (this.count() >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        n,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const hint = this.hint();
        reject(new Error(`${this.what}: ${this.count()}/${n} after ${timeoutMs} ms${hint ? ` (${hint})` : ''}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  notify(): void {
    const total = this.count();
    const ready = this.waiters.filter((w) => total >= w.n);
    this.waiters = this.waiters.filter((w) => total < w.n);
    for (const w of ready) w.done();
  }
}

/** `p`, or a rejection naming what was awaited after timeoutMs: no test waits without a bound. */
export function within<T>(p: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${typeof what === 'string' ? what : what()}: not within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once the child has exited. One that outlives timeoutMs is SIGKILLed, so nothing is
 * left behind, and the wait rejects: a process that ignores its signal is a failure, not a hang.
 */
export async function exitOf(child: ChildProcess, timeoutMs: number, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await within(gone, timeoutMs, `${what} (pid ${child.pid}) to exit`);
  } catch (err) {
    child.kill('SIGKILL');
    await within(gone, 5_000, `${what} (pid ${child.pid}) to exit after SIGKILL`);
    throw err;
  }
}
