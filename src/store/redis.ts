// Redis connections, to one Redis (REDIS_URL) or to a Redis Cluster (REDIS_CLUSTER_NODES). The rest
// of the code does not care which: every MULTI and Lua script touches keys of one hash tag only
// (see keys.ts), and ioredis routes each command to the node owning its slot.
// The API's connection fails fast while Redis is down (so requests get a quick 503 instead of
// hanging); workers' connections wait and reconnect, as BullMQ requires.
import Redis, { Cluster } from 'ioredis';
import type { RedisClusterAuth, RedisNode } from '../config';
import type { Logger } from '../log';

export type RedisClient = Redis | Cluster;

/** Where Redis is: exactly one of the two is set once config and main.ts have resolved it. */
export interface RedisTarget {
  url?: string;
  clusterNodes?: RedisNode[];
  clusterAuth?: RedisClusterAuth;
}

export function connectRedis(target: RedisTarget, role: 'api' | 'worker'): RedisClient {
  const perNode = {
    // BullMQ's blocking worker connections require null; the API wants a bounded wait.
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    connectTimeout: 2000,
  };
  if (target.clusterNodes && target.clusterNodes.length > 0) {
    return new Cluster(target.clusterNodes, {
      lazyConnect: false,
      // Commands issued in the same tick are sent as one pipeline per node, not per slot.
      enableAutoPipelining: true,
      enableOfflineQueue: role === 'worker',
      // A failover takes a few seconds: workers keep trying, the API answers 503 meanwhile.
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      slotsRefreshTimeout: 2000,
      redisOptions: {
        ...perNode,
        username: target.clusterAuth?.username,
        password: target.clusterAuth?.password,
        ...(target.clusterAuth?.tls ? { tls: {} } : {}),
      },
    });
  }
  if (!target.url) throw new Error('connectRedis: neither a Redis URL nor cluster nodes were given');
  return new Redis(target.url, {
    ...perNode,
    lazyConnect: false,
    enableAutoPipelining: true,
    enableOfflineQueue: role === 'worker',
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
}

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;

/** True when an error means "Redis is unreachable", which the API turns into a 503. */
export function isRedisDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: string };
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    e.name === 'ClusterAllFailedError' ||
    e.code === 'ECONNREFUSED' ||
    /Connection is closed|enableOfflineQueue|Stream isn't writeable|Command timed out|ECONNREFUSED|LOADING|CLUSTERDOWN|Cluster isn't ready|Failed to refresh slots cache|TRYAGAIN/.test(
      e.message,
    )
  );
}

export async function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    client.once('ready', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Redis's maxmemory-policy, or null when CONFIG is not available (renamed or refused on managed Redis). */
export async function evictionPolicy(client: RedisClient): Promise<string | null> {
  try {
    const reply = (await client.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    return reply[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * One warning when a connection loses Redis and one line when it is back, instead of ioredis'
 * "Unhandled error event" on every reconnection attempt.
 */
export function watchConnection(client: RedisClient, name: string, log: Logger): void {
  let down = false;
  client.on('error', (err: Error & { code?: string }) => {
    if (down) return;
    down = true;
    log.warn({ connection: name, err: err.code ?? err.message }, 'lost the connection to Redis; retrying');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ connection: name }, 'connection to Redis is back');
  });
}
