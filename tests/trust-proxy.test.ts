// TRUST_PROXY decides whose X-Forwarded-For names the reader, and so which rate-limit bucket a
// request counts against. The "proxy" here is a client bound to 127.0.0.2; the test's ordinary
// client (127.0.0.1) plays a host that is not the proxy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startStack, type Stack } from './support/stack';
import { startApi } from './support/api-process';
import { loadConfig } from '../src/config';

let s: Stack;
before(async () => {
  s = await startStack(
    { TRUST_PROXY: '127.0.0.2', SUBSCRIBE_RATE_LIMIT: '2', SUBSCRIBE_RATE_WINDOW_S: '600' },
    { api: true, worker: true },
    { cluster: false },
  );
});
after(async () => {
  await s.stop();
});

/** A subscription posted from `localAddress` to `port`, as if forwarded for `reader`; the status. */
function subscribe(port: number, localAddress: string, reader: string): Promise<number> {
  const b = s.push.newSubscriber();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/subscriptions/push',
        localAddress,
        timeout: 5000,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': reader },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.end(JSON.stringify({ subscription: { endpoint: b.endpoint, keys: b.keys } }));
  });
}

const bucket = async (address: string) => s.app.domain.redis.exists(`${s.app.domain.keys.rateLimit}${address}`);

test('through the proxy named in TRUST_PROXY, each reader gets a rate-limit bucket of their own', async () => {
  const port = s.app.port!;
  assert.deepEqual([await subscribe(port, '127.0.0.2', '203.0.113.1'), await subscribe(port, '127.0.0.2', '203.0.113.1')], [201, 201]);
  assert.equal(await subscribe(port, '127.0.0.2', '203.0.113.1'), 429);
  assert.equal(await subscribe(port, '127.0.0.2', '203.0.113.2'), 201);
  assert.equal(await bucket('203.0.113.1'), 1);
  assert.equal(await bucket('203.0.113.2'), 1);
  assert.equal(await bucket('127.0.0.2'), 0);
});

test('from a host that is not the named proxy, X-Forwarded-For is ignored: its readers share one bucket', async () => {
  const port = s.app.port!;
  assert.equal(await subscribe(port, '127.0.0.1', '203.0.113.3'), 201);
  assert.equal(await subscribe(port, '127.0.0.1', '203.0.113.4'), 201);
  assert.equal(await subscribe(port, '127.0.0.1', '203.0.113.5'), 429);
  assert.equal(await bucket('127.0.0.1'), 1);
  for (const reader of ['203.0.113.3', '203.0.113.4', '203.0.113.5']) assert.equal(await bucket(reader), 0);
});

test('TRUST_PROXY as a hop count: the address the nearest proxy saw counts, not what the client wrote before it', async () => {
  const api = await startApi(s, { TRUST_PROXY: '1', SUBSCRIBE_RATE_LIMIT: '2', SUBSCRIBE_RATE_WINDOW_S: '600' });
  try {
    const port = api.app.port!;
    assert.equal(await subscribe(port, '127.0.0.1', '192.0.2.99, 198.51.100.77'), 201);
    assert.equal(await bucket('198.51.100.77'), 1);
    assert.equal(await bucket('192.0.2.99'), 0);
  } finally {
    await api.stop();
  }
});

test('TRUST_PROXY: loopback by default; hop counts, addresses, CIDR ranges and proxy-addr names accepted; anything else refused at start', () => {
  assert.deepEqual(loadConfig({}).http.trustProxy, ['loopback']);
  assert.equal(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy, 2);
  assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8, 192.0.2.1, uniquelocal' }).http.trustProxy, [
    'loopback',
    '10.0.0.0/8',
    'fd00::/8',
    '192.0.2.1',
    'uniquelocal',
  ]);
  for (const bad of ['true', '*', '10.0.0.0/33', 'fd00::/129', 'proxy.example.fr', '10.0.0.1/8/8', '21', ',']) {
    assert.throws(() => loadConfig({ TRUST_PROXY: bad }), /TRUST_PROXY/, bad);
  }
});
