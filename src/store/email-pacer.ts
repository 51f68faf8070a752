// A message rate shared by every worker process, for SMTP providers that cap messages per second.
// BullMQ's own limiter counts jobs, and our jobs are batches of hundreds of recipients, so the
// budget is counted per message instead: a fixed one-second window in Redis, one INCR per message
// (auto-pipelined). A send over budget waits for the next window; nothing is dropped.
import type { RedisClient } from './redis';
import type { MailTransport } from '../email/transport';

export class Pacer {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyFor: (second: number) => string,
    readonly perSecond: number,
  ) {}

  /** Resolves when one more message fits in the current second's budget. */
  async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      const key = this.keyFor(Math.floor(now / 1000));
      const res = await this.redis.multi().incr(key).pexpire(key, 5000).exec();
      const n = Number(res?.[0]?.[1] ?? Infinity);
      if (n <= this.perSecond) return;
      // A little jitter spreads the waiting senders over the first milliseconds of the next window.
      await new Promise((r) => setTimeout(r, 1000 - (now % 1000) + Math.floor(Math.random() * 20)));
    }
  }
}

/** The same transport, each message waiting for its turn in the shared budget. */
export function paced(transport: MailTransport, pacer: Pacer | undefined): MailTransport {
  if (!pacer) return transport;
  return {
    send: async (m) => {
      await pacer.take();
      await transport.send(m);
    },
    close: () => transport.close(),
  };
}
