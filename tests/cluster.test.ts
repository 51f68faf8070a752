// The same end-to-end scenarios as on one Redis, on a real 3-master Redis Cluster (REDIS_CLUSTER_NODES):
// tests/pipeline.test.ts is imported after the switch, so every scenario added there runs here too.
// The test below adds what only a cluster can show: the data really spreads over the masters.
import './support/on-cluster';
import './pipeline.test';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, pushCounts } from './support/stack';
import { startRedisCluster } from './support/redis-cluster';
import { loadConfig } from '../src/config';
import { connectRedis, waitReady } from '../src/store/redis';

test('on a cluster, subscribers spread over every master and a 1,100-subscriber alert reaches each once', async (t) => {
  const s = await startStack({ BATCH_SIZE: '64' });
  t.after(() => s.stop());
  assert.ok(s.cluster, 'the stack runs on the cluster');
  const n = 1100; // three record buckets of 512 ids
  const subs = Array.from({ length: n }, () => s.push.newSubscriber());
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      subs.slice(i, i + 100).map((b) =>
        s.app.domain.pushSubscribers.upsert({
          endpoint: b.endpoint,
          p256dh: Buffer.from(b.keys.p256dh, 'base64url'),
          auth: Buffer.from(b.keys.auth, 'base64url'),
          topics: [],
        }),
      ),
    );
  }
  // The endpoint index is sharded over 4,096 hash tags: every master holds part of it.
  const prefix = s.config.redis.prefix;
  for (const port of s.cluster.ports) {
    const shards = s.cluster.cli(port, '--scan', '--pattern', `${prefix}:pe:*`).split('\n').filter(Boolean);
    assert.ok(shards.length > 50, `master on ${port} holds ${shards.length} index shards`);
  }

  const pub = await s.api(
    'POST',
    '/api/alerts',
    { title: 'Séisme dans les Alpes', body: 'Magnitude 5,1 près de Grenoble.', channels: ['push'] },
    editor(),
  );
  assert.equal(pub.status, 202);
  const view = await s.delivered(String(pub.json.id), 60_000);
  assert.deepEqual(pushCounts(view.delivery.push), { targeted: n, sent: n, failed: 0, expired: 0, clicked: 0 });
  const perSubscriber = new Map<string, number>();
  for (const m of s.push.messages) perSubscriber.set(m.subscriberId, (perSubscriber.get(m.subscriberId) ?? 0) + 1);
  assert.equal(perSubscriber.size, n);
  assert.ok(
    [...perSubscriber.values()].every((c) => c === 1),
    'nobody got the alert twice',
  );
  assert.equal((s.push.messages[0].json() as { title: string }).title, 'Séisme dans les Alpes');
});

test('a cluster that requires a password (as managed ones do): REDIS_CLUSTER_PASSWORD lets the service in', async (t) => {
  const c = await startRedisCluster({ password: 'mot-de-passe-du-cluster' });
  t.after(() => c.stop());
  const config = loadConfig({ REDIS_CLUSTER_NODES: c.nodes, REDIS_CLUSTER_PASSWORD: 'mot-de-passe-du-cluster' });
  const ok = connectRedis(config.redis, 'api');
  t.after(() => ok.disconnect());
  await waitReady(ok);
  await ok.set('{a:1}:x', 'ouvert');
  assert.equal(await ok.get('{a:1}:x'), 'ouvert');

  const refused = connectRedis({ clusterNodes: config.redis.clusterNodes }, 'api');
  t.after(() => refused.disconnect());
  refused.on('error', () => undefined);
  await assert.rejects(Promise.race([waitReady(refused, 3000), refused.get('{a:1}:x')]));
});
