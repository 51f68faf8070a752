// Redis connections. The API's connection fails fast while Redis is down (so requests get a quick
// 503 instead of hanging); workers' connections wait and reconnect, as BullMQ requires.
import Redis from 'ioredis';

export type RedisClient = Redis;

export function connectRedis(url: string, role: 'api' | 'worker'): RedisClient {
  return new Redis(url, {
    lazyConnect: false,
    enableAutoPipelining: true,
    // BullMQ's blocking worker connections require null; the API wants a bounded wait.
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
}

/** True when an error means "Redis is unreachable", which the API turns into a 503. */
export function isRedisDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string };
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    e.code === 'ECONNREFUSED' ||
    /Connection is closed|enableOfflineQueue|Stream isn't writeable|Command timed out|ECONNREFUSED|LOADING/.test(e.message)
  );
}

export async function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    client.once('ready', () => { clearTimeout(t); resolve(); });
  });
}
