// Which Redis the test stacks run on: one redis-server (default) or a 3-master Redis Cluster.
// TEST_REDIS_CLUSTER=1 switches a whole run; tests/cluster.test.ts switches its own process with
// useCluster() before importing the scenarios of tests/pipeline.test.ts, so they run on both.
import { startRedis, type TestRedis } from './redis';
import { startRedisCluster, type TestCluster } from './redis-cluster';

let cluster = process.env.TEST_REDIS_CLUSTER === '1';

export function useCluster(): void {
  cluster = true;
}
export const onCluster = (): boolean => cluster;

export interface TestBackend {
  /** Environment for loadConfig: REDIS_URL or REDIS_CLUSTER_NODES. */
  env: Record<string, string>;
  /** The single redis-server (kill/restart for fault tests); a stand-in that refuses them on a cluster. */
  redis: TestRedis;
  cluster?: TestCluster;
  stop(): Promise<void>;
}

export async function startBackend(opts: { cluster?: boolean } = {}): Promise<TestBackend> {
  if (!(opts.cluster ?? cluster)) {
    const redis = await startRedis();
    return { env: { REDIS_URL: redis.url }, redis, stop: () => redis.stop() };
  }
  const c = await startRedisCluster();
  const refuse = (): never => {
    throw new Error('this stack runs on a Redis Cluster: use stack.cluster, or app.domain.redis for commands');
  };
  const stand: TestRedis = {
    get url(): string {
      return refuse();
    },
    port: c.ports[0],
    dir: '',
    stop: () => c.stop(),
    kill: refuse,
    restart: refuse,
  };
  return { env: { REDIS_CLUSTER_NODES: c.nodes }, redis: stand, cluster: c, stop: () => c.stop() };
}
