// REDIS_URL means one Redis, REDIS_CLUSTER_NODES a Redis Cluster; a bad value stops the start with one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config';

test('REDIS_CLUSTER_NODES gives the cluster seeds; REDIS_URL keeps meaning one Redis', () => {
  const c = loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001,[::1]:7002' });
  assert.deepEqual(c.redis.clusterNodes, [
    { host: 'redis-1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
    { host: '::1', port: 7002 },
  ]);
  assert.equal(c.redis.url, undefined);
  assert.deepEqual(c.redis.clusterAuth, { username: undefined, password: undefined, tls: false });
  const managed = loadConfig({
    REDIS_CLUSTER_NODES: 'clustercfg.exemple:6379',
    REDIS_CLUSTER_USERNAME: 'depeche',
    REDIS_CLUSTER_PASSWORD: 'secret',
    REDIS_CLUSTER_TLS: 'true',
  });
  assert.deepEqual(managed.redis.clusterAuth, { username: 'depeche', password: 'secret', tls: true });
  const one = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' });
  assert.equal(one.redis.url, 'redis://127.0.0.1:6379');
  assert.equal(one.redis.clusterNodes, undefined);
  assert.equal(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis.clusterNodes, undefined);
});

test('a bad REDIS_CLUSTER_NODES, or both variables, is refused with a one-line message', () => {
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-1' }), {
    message: 'configuration: REDIS_CLUSTER_NODES: entry "redis-1" must be host:port',
  });
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:99999' }), /entry "redis-1:99999" must be host:port/);
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis://a:1' }), /must be host:port/);
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: ' , ' }), {
    message: 'configuration: REDIS_CLUSTER_NODES: give at least one host:port',
  });
  assert.throws(() => loadConfig({ REDIS_CLUSTER_NODES: 'a:1', REDIS_CLUSTER_TLS: 'oui' }), /^Error: configuration: REDIS_CLUSTER_TLS /);
  assert.throws(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }), {
    message: 'configuration: set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (Redis Cluster), not both',
  });
});
