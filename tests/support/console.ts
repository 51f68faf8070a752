// Helpers for the console's tests: a signed-in session driven with fetch (cookie + CSRF header),
// and subscribers seeded through the public API exactly as a site's front end would create them.
import assert from 'node:assert/strict';
import { EDITOR, type ApiAnswer, type Stack } from './stack';
import type { TestSubscriber } from './push-service';

export interface ConsoleSession {
  /** `dp_session=…`, as the browser would send it back. */
  cookie: string;
  setCookie: string;
  csrf: string;
  /** A request with the session cookie; the CSRF header too unless `csrf: false`. */
  call(method: string, path: string, body?: unknown, opts?: { csrf?: boolean; headers?: Record<string, string> }): Promise<ApiAnswer>;
}

export async function signIn(s: Stack, token = EDITOR): Promise<ConsoleSession> {
  const r = await s.api('POST', '/api/session', { token });
  assert.equal(r.status, 201, r.text);
  const setCookie = r.headers.get('set-cookie') ?? '';
  const cookie = /^(dp_session=[^;]+)/.exec(setCookie)?.[1];
  assert.ok(cookie, `a session cookie is set (${setCookie})`);
  const csrf = String(r.json.csrf);
  return {
    cookie,
    setCookie,
    csrf,
    call: (method, path, body, opts = {}) =>
      s.api(method, path, body, {
        cookie,
        ...(opts.csrf === false ? {} : { 'x-csrf-token': csrf }),
        ...opts.headers,
      }),
  };
}

/** n push subscribers following `topics`, subscribed through POST /api/subscriptions/push. */
export async function seedPush(s: Stack, n: number, topics: string[] = []): Promise<TestSubscriber[]> {
  const subs: TestSubscriber[] = [];
  for (let i = 0; i < n; i++) {
    const b = s.push.newSubscriber();
    const r = await s.api('POST', '/api/subscriptions/push', { subscription: { endpoint: b.endpoint, keys: b.keys }, topics });
    assert.equal(r.status, 201, r.text);
    subs.push(b);
  }
  return subs;
}

/** A confirmed email subscriber: subscribes, then follows the link of the confirmation mail. */
export async function seedEmail(s: Stack, address: string, topics: string[] = []): Promise<void> {
  const before = s.smtp.messages.length;
  const r = await s.api('POST', '/api/subscriptions/email', { email: address, topics });
  assert.equal(r.status, 202, r.text);
  await s.smtp.waitFor(before + 1, 10_000);
  const mail = s.smtp.messages.slice(before).find((m) => m.to.includes(address));
  const path = /https?:\/\/[^/\s]+(\/api\/subscriptions\/email\/confirm\?token=[\w.-]+)/.exec(mail?.text ?? '')?.[1];
  assert.ok(path, 'the confirmation mail has a link');
  const ok = await s.api('POST', path, undefined, { accept: 'application/json' });
  assert.equal(ok.status, 200, ok.text);
}
