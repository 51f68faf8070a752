// Abuse limits on the endpoints strangers call: a per-IP budget kept in Redis (a refused
// request stores and sends nothing; a chief can lift it for one address), CORS for the site's
// own origins only, and at most one confirmation mail per address however often it is asked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, CHIEF, type Stack } from './support/stack';

let s: Stack;
before(async () => {
  s = await startStack({ SUBSCRIBE_RATE_LIMIT: '3', SUBSCRIBE_RATE_WINDOW_S: '60', CORS_ORIGINS: 'https://www.exemple.fr' });
});
after(async () => {
  await s.stop();
});

// The API trusts X-Forwarded-For from loopback (a reverse proxy on the same machine), so a test
// can speak for several addresses.
const from = (ip: string) => ({ 'x-forwarded-for': ip });

test('per-IP limit on subscriptions: the 4th request in the window gets 429 and changes nothing', async () => {
  const ip = '198.51.100.7';
  for (let i = 0; i < 3; i++) {
    const b = s.push.newSubscriber();
    const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys } }, from(ip));
    assert.equal(r.status, 201);
    assert.match(r.headers.get('ratelimit') ?? '', /r=\d+/);
  }
  const refused = s.push.newSubscriber();
  const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: refused.endpoint, keys: refused.keys } }, from(ip));
  assert.equal(r.status, 429);
  assert.equal(String(r.json.error.code), 'rate_limited');
  assert.match(String(r.json.error.message), /try again in \d+ s/);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.equal(await s.app.domain.pushSubscribers.findId(refused.endpoint), null);
  // Other endpoints under the same prefix count too: the email form is the one that sends mail.
  const mails = s.smtp.messages.length;
  const e = await s.api('POST', '/api/subscriptions/email', { email: 'limite@exemple.fr' }, from(ip));
  assert.equal(e.status, 429);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(s.smtp.messages.length, mails);

  // Another address has its own budget; the editor's API and health are not limited.
  const other = await s.api(
    'POST',
    '/api/subscriptions/push',
    { subscription: { endpoint: refused.endpoint, keys: refused.keys } },
    from('198.51.100.8'),
  );
  assert.equal(other.status, 201);
  assert.equal((await s.api('GET', '/api/health', undefined, from(ip))).status, 200);
  assert.equal((await s.api('GET', '/api/alerts', undefined, { ...from(ip), ...editor() })).status, 200);

  // The count lives in Redis (shared by every API process) and expires with its window.
  const ttl = await s.app.domain.redis.pttl(`${s.app.domain.keys.rateLimit}${ip}`);
  assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);

  // A chief can lift the limit for one address.
  const lifted = await s.api('DELETE', `/api/limits/subscribe/${ip}`, undefined, editor(CHIEF));
  assert.equal(lifted.status, 204);
  const again = s.push.newSubscriber();
  assert.equal(
    (await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: again.endpoint, keys: again.keys } }, from(ip))).status,
    201,
  );
  assert.equal((await s.api('DELETE', '/api/limits/subscribe/not-an-ip', undefined, editor(CHIEF))).status, 400);
});

test('CORS: only the configured site origin may call the public endpoints; never the editor API', async () => {
  const preflight = (path: string, origin: string) =>
    fetch(s.base + path, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
        'x-forwarded-for': '192.0.2.50',
      },
    });
  const ok = await preflight('/api/subscriptions/push', 'https://www.exemple.fr');
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://www.exemple.fr');
  assert.match(ok.headers.get('access-control-allow-methods') ?? '', /POST/);
  const evil = await preflight('/api/subscriptions/push', 'https://evil.example');
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  const key = await fetch(`${s.base}/api/push/public-key`, { headers: { origin: 'https://www.exemple.fr' } });
  assert.equal(key.headers.get('access-control-allow-origin'), 'https://www.exemple.fr');
  const editorApi = await preflight('/api/alerts', 'https://www.exemple.fr');
  assert.equal(editorApi.headers.get('access-control-allow-origin'), null);
});

test('asking three times for the same address sends one confirmation mail', async () => {
  const before = s.smtp.messages.length;
  for (let i = 0; i < 3; i++) {
    const r = await s.api('POST', '/api/subscriptions/email', { email: 'insistant@exemple.fr' }, from(`192.0.2.${i + 1}`));
    assert.equal(r.status, 202);
  }
  await s.smtp.waitFor(before + 1, 5000);
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(s.smtp.messages.slice(before).filter((m) => m.to.includes('insistant@exemple.fr')).length, 1);
});
