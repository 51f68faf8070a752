// No secret, push key, endpoint or email address in the logs or in job data. A whole pipeline
// runs at LOG_LEVEL debug, through its unhappy paths too (push 500 then retry, 410 gone, a 3xx,
// SMTP refusing for a while), and then every log line and every value BullMQ keeps in Redis
// (job data, results, failure reasons, events) is searched for each sensitive string.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startStack, editor, EDITOR, CHIEF, until, type Stack, pushCounts } from './support/stack';

let s: Stack;
let logs = '';
before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  s = await startStack({ LOG_LEVEL: 'debug' }, { api: true, worker: true }, { cluster: false, logDestination: sink });
});
after(async () => {
  await s.stop();
});

/** Every value BullMQ keeps under the queue prefix, as text. */
async function queueContents(): Promise<string> {
  const { redis, keys } = s.app.domain;
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keys.queuePrefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const k of batch) {
      const type = await redis.type(k);
      if (type === 'string') out.push((await redis.getBuffer(k))?.toString('latin1') ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(k)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(k, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(k)));
      else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(k, '0', '-1')));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(k, '-', '+')));
      out.push(k);
    }
  } while (cursor !== '0');
  return out.join('\n');
}

test('a full pipeline, unhappy paths included, leaves no secret, key, endpoint or address in logs or job data', async () => {
  const secrets: string[] = [EDITOR, CHIEF, s.config.tokenSecret!, s.config.push.vapid.privateKey!];
  const browsers = [s.push.newSubscriber(), s.push.newSubscriber(), s.push.newSubscriber(), s.push.newSubscriber()];
  for (const b of browsers) {
    const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys } });
    assert.equal(r.status, 201);
    secrets.push(b.endpoint, b.id, b.keys.p256dh, b.keys.auth, Buffer.from(b.keys.auth, 'base64url').toString('hex'));
  }
  s.push.setBehaviour(browsers[1].id, { sequence: [{ status: 500 }, null] });
  s.push.setBehaviour(browsers[2].id, { status: 410 });
  s.push.setBehaviour(browsers[3].id, { status: 301, headers: { location: 'https://ailleurs.example/x' } });

  // Email: the SMTP server refuses for a while (the confirmation mail is retried), then accepts.
  const addresses = ['lectrice.secrete@exemple.fr', 'Lecteur.Discret@Exemple.fr'];
  secrets.push(...addresses, ...addresses.map((a) => a.toLowerCase()));
  s.smtp.setTempFail(true);
  for (const email of addresses) assert.equal((await s.api('POST', '/api/subscriptions/email', { email })).status, 202);
  await until(async () => s.smtp.refusals.length >= 2, 5000);
  s.smtp.setTempFail(false);
  await s.smtp.waitFor(2, 15_000);
  for (const m of s.smtp.messages) {
    const link = /https:\/\/alertes\.example\.fr(\/api\/subscriptions\/email\/confirm\?token=([\w.-]+))/.exec(m.text)!;
    secrets.push(link[2]);
    assert.equal((await s.api('POST', link[1], undefined, { accept: 'application/json' })).status, 200);
  }
  s.smtp.setRcptReject(addresses[1], 550);

  const pub = await s.api('POST', '/api/alerts', { title: 'Alerte de test des journaux', body: 'Corps' }, editor());
  assert.equal(pub.status, 202);
  const view = await s.delivered(String(pub.json.id), 15_000);
  assert.deepEqual(
    { ...view.delivery, push: pushCounts(view.delivery.push) },
    {
      push: { targeted: 4, sent: 2, failed: 1, expired: 1, clicked: 0 },
      email: { targeted: 2, sent: 1, failed: 0, bounced: 1, complained: 0 },
    },
  );
  for (const m of s.smtp.messages.slice(2)) {
    const unsub = /token=([\w.-]+)/.exec(m.headers['list-unsubscribe'] ?? '');
    if (unsub) secrets.push(unsub[1]);
  }
  // An unsubscribe and a wrong editor token, so those paths log too.
  assert.equal((await s.api('DELETE', '/api/subscriptions/push', { endpoint: browsers[0].endpoint })).status, 204);
  assert.equal((await s.api('GET', '/api/alerts', undefined, editor('mauvais-jeton-0123456789abcdef'))).status, 401);

  const jobs = await queueContents();
  // The unhappy paths did log: the test would prove nothing otherwise.
  assert.match(logs, /"msg":"job failed"/);
  assert.match(logs, /"msg":"delivery failures in batch"/);
  assert.match(jobs, /subscriberId/, 'the job data was read');
  for (const secret of secrets) {
    assert.ok(!logs.includes(secret), `a log line contains ${secret.slice(0, 12)}…`);
    assert.ok(!jobs.includes(secret), `job data contains ${secret.slice(0, 12)}…`);
  }
  // And nothing that merely looks like an address or an endpoint either.
  assert.doesNotMatch(logs, /[\w.+-]+@[\w-]+\.[\w.]+/, 'an email address in the logs');
  assert.doesNotMatch(jobs, /[\w.+-]+@[\w-]+\.[\w.]+/, 'an email address in job data');
  assert.doesNotMatch(logs + jobs, /\/push\/[0-9a-f]{24}/, 'an endpoint path');
});
