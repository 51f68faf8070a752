// Scenario 2: Redis is SIGKILLed and restarted from its AOF (appendfsync everysec), once in the
// middle of a fan-out and once after one. While it is down the API answers 503 at once (health,
// publish, subscribe, read); the workers wait, reconnect and finish. No subscriber, alert or
// count is lost; every subscriber gets the alert, and duplicates stay within the window of
// writes Redis had not yet made durable plus the requests in flight.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOBS } from './knobs';
import { startRig, pushTally, type Rig } from './rig';
import { EDITOR, until, pushCounts } from '../support/stack';

const PUSH_CONCURRENCY = 100;
let rig: Rig;
let base: string;
before(async () => {
  rig = await startRig({
    JOB_LOCK_MS: String(KNOBS.jobLockMs),
    PUSH_CONCURRENCY: String(PUSH_CONCURRENCY),
    SUBSCRIBE_RATE_LIMIT: '100000',
  });
  base = await rig.api();
});
after(async () => {
  await rig.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request with its latency. */
async function timed(method: string, path: string, body?: unknown, auth = false): Promise<{ status: number; ms: number; code?: string }> {
  const t0 = performance.now();
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(auth ? { authorization: `Bearer ${EDITOR}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return { status: res.status, ms: Math.round(performance.now() - t0), code: json.error?.code };
}

async function activeCount(): Promise<number> {
  return rig.db.bitcount(rig.keys.audActive('push'));
}

test(
  'Redis SIGKILLed during and after a fan-out, restarted from its AOF: API 503 at once, workers finish, nothing lost',
  { timeout: 240_000 },
  async (t) => {
    const n = KNOBS.redisSubscribers;
    await rig.seedPush(n);
    const worker = await rig.worker();
    const id = await rig.publish({ title: 'Séisme en Turquie', body: 'Bilan provisoire.', channels: ['push'] });
    await rig.push.waitFor(Math.floor(n * 0.3), 120_000);

    rig.redis.kill('SIGKILL');
    const tKill = Date.now();
    const atKill = rig.push.messages.length;
    await sleep(300);
    const browser = rig.push.newSubscriber();
    const down = {
      health: await timed('GET', '/api/health'),
      publish: await timed('POST', '/api/alerts', { title: 'Pendant la panne' }, true),
      subscribePush: await timed('POST', '/api/subscriptions/push', { subscription: { endpoint: browser.endpoint, keys: browser.keys } }),
      subscribeEmail: await timed('POST', '/api/subscriptions/email', { email: 'panne@exemple.fr' }),
      readAlert: await timed('GET', `/api/alerts/${id}`, undefined, true),
    };
    t.diagnostic(
      `Redis killed after ${atKill} of ${n} pushes; while down: ${Object.entries(down)
        .map(([k, v]) => `${k} ${v.status} in ${v.ms} ms`)
        .join(', ')}`,
    );
    for (const [what, r] of Object.entries(down)) {
      assert.equal(r.status, 503, what);
      assert.equal(r.code, 'unavailable', what);
      assert.ok(r.ms < 2000, `${what} took ${r.ms} ms`);
    }

    await sleep(Math.max(0, KNOBS.redisDownMs - (Date.now() - tKill)));
    await rig.redis.restart();
    const tUp = Date.now();
    assert.equal(worker.child.exitCode, null, 'the worker survived the outage');
    await until(async () => (await timed('GET', '/api/health')).status === 200, 15_000, 100);
    t.diagnostic(`API healthy ${Date.now() - tUp} ms after the restart`);

    const view = await rig.delivered(id, 180_000);
    const tally = pushTally(rig.push);
    // Writes Redis acknowledged in the last second before the kill may be missing from the AOF
    // (appendfsync everysec); the recipients they recorded can be sent to again.
    const window = rig.push.messages.filter((m) => m.receivedAt >= tKill - 1500 && m.receivedAt <= tKill).length + 2 * PUSH_CONCURRENCY;
    t.diagnostic(
      `finished ${Date.now() - tUp} ms after the restart; received ${tally.total}, unique ${tally.unique}, duplicates ${tally.duplicates} (bound ${window})`,
    );
    assert.equal(tally.unique, n, 'every subscriber got the alert');
    assert.ok(tally.duplicates <= window);
    assert.equal(await activeCount(), n, 'no subscriber lost');
    assert.deepEqual(pushCounts(view.delivery.push), { targeted: n, sent: n, failed: 0, expired: 0, clicked: 0 });
    // The outage is told in a few clear lines, not one stack per reconnection attempt.
    assert.ok(worker.logs.some((l) => l.msg === 'lost the connection to Redis; retrying'));
    assert.ok(worker.logs.some((l) => l.msg === 'connection to Redis is back'));
    assert.doesNotMatch(worker.stderr(), /Unhandled error event/);
    const during = worker.logs.filter((l) => (l.time as number) >= tKill && (l.time as number) <= tUp);
    t.diagnostic(
      `worker log lines during the outage: ${during.length}: ${[...new Set(during.map((l) => `${l.msg} ${String(l.err ?? '')}`))].join(' | ')}`,
    );

    // After the fan-out, and beyond the fsync window: a second crash loses nothing at all.
    await sleep(1500);
    rig.redis.kill('SIGKILL');
    await sleep(500);
    await rig.redis.restart();
    const again = await rig.delivered(id, 30_000);
    assert.deepEqual(again.delivery, view.delivery);
    assert.equal(await activeCount(), n);
    await until(async () => (await timed('GET', '/api/health')).status === 200, 15_000, 100);
    const next = await rig.publish({ title: 'Après la panne', body: '', channels: ['push'] });
    const nextView = await rig.delivered(next, 60_000);
    assert.equal(nextView.delivery.push.sent, n);
    assert.equal(pushTally(rig.push, 'Après la panne').duplicates, 0);
  },
);
