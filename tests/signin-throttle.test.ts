// Guessing editor tokens stops after SIGNIN_MAX_FAILURES (10) failed checks from one address in
// SIGNIN_WINDOW (10 min): sign-ins and Bearer headers alike; from then on every token that
// address presents, right or wrong, gets 429 with Retry-After. Successes count nothing; other
// addresses and sessions already open are unaffected. The API trusts X-Forwarded-For from
// loopback by default, so the test speaks for several addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, EDITOR, CHIEF, type ApiAnswer, type Stack } from './support/stack';
import { signIn } from './support/console';
import { loadConfig } from '../src/config';

let s: Stack;
before(async () => {
  s = await startStack({}, { api: true, worker: true }, { cluster: false });
});
after(async () => {
  await s.stop();
});

const from = (ip: string, headers: Record<string, string> = {}) => ({ 'x-forwarded-for': ip, ...headers });
const WRONG = 'pas-le-bon-jeton-0123456789';
const signInFrom = (ip: string, token: string) => s.api('POST', '/api/session', { token }, from(ip));
const bearerFrom = (ip: string, token: string) => s.api('GET', '/api/alerts', undefined, from(ip, editor(token)));

function assertThrottled(r: ApiAnswer): void {
  assert.equal(r.status, 429, r.text);
  assert.equal(String(r.json.error.code), 'too_many_failed_sign_ins');
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(retry > 0 && retry <= 600, `Retry-After ${retry}`);
  assert.match(String(r.json.error.message), new RegExp(`try again in ${retry} s`));
}

const sessionCount = async () => (await s.app.domain.redis.keys(`${s.config.redis.prefix}:session:*`)).length;

test('10 wrong tokens from one address: the 11th attempt gets 429 with Retry-After, even with the right token; another address is unaffected', async () => {
  const ip = '198.51.100.20';
  for (let i = 0; i < 5; i++) {
    const r = await signInFrom(ip, WRONG);
    assert.equal(r.status, 401);
    assert.equal(String(r.json.error.code), 'invalid_token');
    assert.equal((await bearerFrom(ip, `${WRONG}-${i}`)).status, 401);
  }
  const sessions = await sessionCount();
  assertThrottled(await signInFrom(ip, EDITOR));
  assertThrottled(await bearerFrom(ip, CHIEF));
  assertThrottled(await bearerFrom(ip, WRONG));
  assertThrottled(await s.api('GET', '/api/alerts', undefined, from(ip, { authorization: 'Basic eDp5' })));
  assert.equal(await sessionCount(), sessions, 'no session opened');

  assert.equal((await signInFrom('198.51.100.21', EDITOR)).status, 201);
  assert.equal((await bearerFrom('198.51.100.21', EDITOR)).status, 200);
  // One counter for the address, kept for the window only.
  const ttl = await s.app.domain.redis.pttl(s.app.domain.keys.signInFailures(ip));
  assert.ok(ttl > 0 && ttl <= 600_000, `ttl ${ttl}`);
});

test('right tokens do not count: 9 failures, then 20 successes, then the 10th failure is still a 401 and only the 11th is refused', async () => {
  const ip = '198.51.100.30';
  for (let i = 0; i < 9; i++) assert.equal((await bearerFrom(ip, WRONG)).status, 401);
  for (let i = 0; i < 10; i++) {
    assert.equal((await bearerFrom(ip, EDITOR)).status, 200);
    assert.equal((await signInFrom(ip, CHIEF)).status, 201);
  }
  assert.equal((await signInFrom(ip, WRONG)).status, 401);
  assertThrottled(await signInFrom(ip, WRONG));
});

test('30 wrong tokens at once from one address: exactly 10 are checked, 20 get 429', async () => {
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => bearerFrom('198.51.100.40', `${WRONG}-${i}`)));
  assert.equal(answers.filter((r) => r.status === 401).length, 10);
  assert.equal(answers.filter((r) => r.status === 429).length, 20);
});

test('IPv6 addresses count by their /56, as the subscription limit does', async () => {
  for (let i = 0; i < 10; i++) assert.equal((await bearerFrom(`2001:db8:1:1${i.toString(16)}::${i + 1}`, WRONG)).status, 401);
  assertThrottled(await bearerFrom('2001:db8:1:ff::7', EDITOR));
  assert.equal((await bearerFrom('2001:db8:1:100::7', EDITOR)).status, 200);
});

test('a console session already open keeps working from a throttled address', async () => {
  const ip = '198.51.100.50';
  const session = await signIn({ ...s, api: (m, p, b, h) => s.api(m, p, b, from(ip, h)) }, EDITOR);
  for (let i = 0; i < 10; i++) assert.equal((await signInFrom(ip, WRONG)).status, 401);
  assertThrottled(await signInFrom(ip, EDITOR));
  const r = await session.call('GET', '/api/alerts', undefined, { headers: from(ip) });
  assert.equal(r.status, 200);
});

test('SIGNIN_MAX_FAILURES and SIGNIN_WINDOW are validated at start', () => {
  assert.deepEqual(loadConfig({ SIGNIN_MAX_FAILURES: '3', SIGNIN_WINDOW: '1h' }).http.signIn, { maxFailures: 3, windowMs: 3_600_000 });
  assert.deepEqual(loadConfig({}).http.signIn, { maxFailures: 10, windowMs: 600_000 });
  assert.throws(() => loadConfig({ SIGNIN_MAX_FAILURES: '0' }), /SIGNIN_MAX_FAILURES/);
  assert.throws(() => loadConfig({ SIGNIN_WINDOW: '10 minutes' }), /SIGNIN_WINDOW must be a duration/);
  assert.throws(() => loadConfig({ SESSION_MAX_AGE: '0' }), /SESSION_MAX_AGE/);
  assert.throws(() => loadConfig({ SESSION_RECHECK_INTERVAL: 'soon' }), /SESSION_RECHECK_INTERVAL/);
});
