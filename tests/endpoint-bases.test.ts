// Endpoint hosts strangers invent under a wildcard allowlist entry (issue 11, hole 4): they take
// no code in the shared table of endpoint bases (the record keeps its base inline), they still
// get their pushes, start-up connects to none of them, and a delivery process keeps at most
// PUSH_MAX_ORIGINS of them open. The allowlist here has `https://*.push.localhost:<port>`, whose
// names this process resolves to the local push service (support/localhost-names.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { LOOPBACK_WILDCARD_DOMAIN } from './support/localhost-names';
import { startStack, editor, until, type Stack } from './support/stack';
import { pushesOf, subscribePush } from './support/newsroom';
import { start } from '../src/runtime';
import { createLogger } from '../src/log';
import { BUCKET_BITS } from '../src/store/keys';
import { decodeRecord, NO_BASE } from '../src/store/push-record';
import { BASES_WITH_PATH } from '../src/store/push-subscribers';

const MAX_ORIGINS = 4;
let s: Stack;
let port: string;
before(async () => {
  s = await startStack({ PUSH_MAX_ORIGINS: String(MAX_ORIGINS) }, undefined, {
    extraPushOrigins: (origin) => [`https://*.${LOOPBACK_WILDCARD_DOMAIN}:${new URL(origin).port}`],
  });
  port = new URL(s.push.origin).port;
});
after(async () => {
  await s.stop();
});

const invented = (name: string) => `${name}.${LOOPBACK_WILDCARD_DOMAIN}`;
/** The shared table of endpoint bases, field by field. */
const baseTable = () => s.app.domain.redis.hgetall(s.app.domain.keys.origins);

async function publish(title: string): Promise<string> {
  const pub = await s.api('POST', '/api/alerts', { title, body: 'Texte de l’alerte.' }, editor());
  assert.equal(pub.status, 202, pub.text);
  return String(pub.json.id);
}

test('start-up connects to the named push origins in the base table, never to a host invented under the wildcard', async () => {
  await subscribePush(s); // on 127.0.0.1, an exact allowlist entry: its base is in the table
  // A base the previous release gave a code to, on a host a stranger made up (as it did for any).
  const legacy = `https://${invented('legacy')}:${port}/push/`;
  const { redis, keys } = s.app.domain;
  const code = await redis.hincrby(keys.origins, '#next', 1);
  await redis.hset(keys.origins, legacy, String(code), `#${code}`, legacy);
  s.push.reset();

  // A second delivery process starts on the same Redis, as after a deploy.
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const worker = await start(s.config, createLogger('warn', 'depeche', quiet), { api: false, worker: true });
  try {
    await until(() => Promise.resolve(s.push.sessions >= 1), 5000); // its warm-up, to 127.0.0.1
    // Both warm-ups would have begun together; an alert delivered after it leaves time for both.
    const id = await publish('Démarrage');
    await s.delivered(id, 5000);
    assert.ok(!s.push.serverNames.includes(invented('legacy')), `connections: ${JSON.stringify(s.push.serverNames)}`);
    assert.ok(s.push.serverNames.includes(''), 'the named origin was connected to');
  } finally {
    await worker.stop();
  }
});

test('a subscriber on an invented host takes no base code, keeps its whole endpoint, and gets its push', async () => {
  const table = await baseTable();
  const browser = s.push.newSubscriber({ host: invented('reader-1') });
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: browser.endpoint, keys: browser.keys } });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(await baseTable(), table, 'the base table is unchanged');

  const dpId = Number(r.json.id);
  const raw = await s.app.domain.redis.hgetBuffer(s.app.domain.keys.pushRecords(dpId >> BUCKET_BITS), String(dpId));
  const rec = decodeRecord(raw!);
  assert.equal(rec.baseCode, NO_BASE);
  assert.equal(rec.rest, browser.endpoint);

  const id = await publish('Sous un nom inventé');
  await until(() => Promise.resolve(pushesOf(s, id).some((p) => p.subscriberId === browser.id)), 5000);
  const view = await s.delivered(id, 5000);
  assert.equal(view.delivery.push.failed, 0);
  assert.ok(s.push.serverNames.includes(invented('reader-1')));
});

test(`a delivery to 12 invented hosts keeps at most PUSH_MAX_ORIGINS (${MAX_ORIGINS}) connections open`, async () => {
  const browsers = [];
  for (let i = 0; i < 12; i++) {
    const b = s.push.newSubscriber({ host: invented(`many-${i}`) });
    const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys } });
    assert.equal(r.status, 201, r.text);
    browsers.push(b);
  }
  const id = await publish('Douze hôtes');
  const view = await s.delivered(id, 10_000);
  assert.equal(view.delivery.push.failed, 0);
  const reached = new Set(pushesOf(s, id).map((p) => p.subscriberId));
  assert.ok(browsers.every((b) => reached.has(b.id)));
  // The dropped clients close once their last request has ended.
  await until(() => Promise.resolve(s.push.openConnections <= MAX_ORIGINS), 5000);
});

test('2,000 subscribes on 2,000 invented hosts all succeed and leave the base table as it was', async () => {
  const table = await baseTable();
  const template = s.push.newSubscriber(); // valid keys, reused: only the host matters here
  const sent = s.push.requests;
  let next = 0;
  const answers: number[] = [];
  const lane = async () => {
    for (let i = next++; i < 2000; i = next++) {
      const endpoint = `https://${invented(`x${i}-${Math.random().toString(36).slice(2, 8)}`)}:${port}/push/${template.id}${i}`;
      const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint, keys: template.keys } });
      answers.push(r.status);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  assert.equal(answers.length, 2000);
  assert.ok(
    answers.every((st) => st === 201),
    `statuses: ${[...new Set(answers)].join(', ')}`,
  );
  assert.deepEqual(await baseTable(), table, 'the base table is unchanged');
  assert.equal(s.push.requests, sent, 'subscribing sends nothing');
});

test(`directories invented on a named host stop taking codes at ${BASES_WITH_PATH} bases; later ones share their origin's`, async () => {
  const before = Object.keys(await baseTable()).length;
  const template = s.push.newSubscriber();
  const answers = await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      const statuses: number[] = [];
      for (let i = lane; i < BASES_WITH_PATH + 100; i += 8) {
        const endpoint = `${s.push.origin}/d${i}/${template.id}`;
        statuses.push((await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint, keys: template.keys } })).status);
      }
      return statuses;
    }),
  );
  assert.ok(answers.flat().every((st) => st === 201));
  // Each base is two fields (name → code, #code → name), plus the #next counter.
  const table = await baseTable();
  assert.ok(Number(table['#next']) <= BASES_WITH_PATH + 1, `${table['#next']} codes given`);
  assert.ok(Object.keys(table).length <= 2 * (BASES_WITH_PATH + 1) + 1, `${Object.keys(table).length} fields, ${before} before`);
  // The last one still comes back whole (its directory after the origin's code).
  const last = `${s.push.origin}/d${BASES_WITH_PATH + 99}/${template.id}`;
  const id = await s.app.domain.pushSubscribers.findId(last);
  assert.equal((await s.app.domain.pushSubscribers.get(id!))!.endpoint, last);
});
