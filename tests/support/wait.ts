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
