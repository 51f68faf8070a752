// Console sessions are worth no more than the token they were opened with: withdrawing the
// token or changing its role (the API restarted with another EDITOR_TOKENS on the same Redis)
// ends its sessions at their next request, in every API process; SESSION_MAX_AGE ends a session
// however busy; an open event stream ends with its session.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, editor, EDITOR, CHIEF, type Stack } from './support/stack';
import { signIn } from './support/console';
import { pushesOf, subscribePush } from './support/newsroom';
import { readUntilEnd, startApi } from './support/api-process';

let s: Stack;
before(async () => {
  // Every alert with a recipient waits for a chief; streams re-check their session every second.
  s = await startStack({ APPROVAL_THRESHOLD: '0', SESSION_RECHECK_INTERVAL: '1s' }, { api: true, worker: true }, { cluster: false });
  await subscribePush(s);
});
after(async () => {
  await s.stop();
});

/** The session id inside a `dp_session=s%3A<id>.<signature>` cookie. */
const idOf = (cookie: string) => decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).slice(2, 34);
const sessionKey = (cookie: string) => s.app.domain.keys.session(idOf(cookie));

test('withdrawing a token from EDITOR_TOKENS ends its console session at the next request, in every API process', async () => {
  const session = await signIn(s, EDITOR);
  const chief = await signIn(s, CHIEF);
  assert.equal((await session.call('GET', '/api/alerts')).status, 200);
  const stored = await s.app.domain.redis.get(sessionKey(session.cookie));
  assert.ok(stored);
  assert.ok(!stored.includes(EDITOR), 'the record holds a fingerprint, never the token');

  const restarted = await startApi(s, { EDITOR_TOKENS: `chef:${CHIEF}:chief` });
  try {
    const r = await restarted.api('GET', '/api/alerts', undefined, { cookie: session.cookie });
    assert.equal(r.status, 401);
    assert.equal(String(r.json.error.code), 'unauthorized');
    assert.equal(await s.app.domain.redis.exists(sessionKey(session.cookie)), 0, 'the record is gone');
    // The process still configured with the old token cannot bring the session back.
    assert.equal((await session.call('GET', '/api/session')).status, 401);
    const again = await restarted.api('POST', '/api/session', { token: EDITOR });
    assert.equal(again.status, 401);
    assert.equal(String(again.json.error.code), 'invalid_token');
    // A session whose token is still configured, with the same role, survives the restart.
    const kept = await restarted.api('GET', '/api/session', undefined, { cookie: chief.cookie });
    assert.equal(kept.status, 200);
    assert.deepEqual(kept.json.editor, { name: 'chef', role: 'chief' });
  } finally {
    await restarted.stop();
  }
});

test('a chief demoted to editor in EDITOR_TOKENS: the chief session ends and cannot approve; a new sign-in is an editor', async () => {
  const pub = await s.api('POST', '/api/alerts', { title: 'Incendie dans un entrepôt', channels: ['push'] }, editor());
  assert.equal(pub.status, 202, pub.text);
  const id = String(pub.json.id);
  assert.equal((await s.alert(id)).status, 'awaiting_approval');
  const chief = await signIn(s, CHIEF);

  const restarted = await startApi(s, { EDITOR_TOKENS: `redaction:${EDITOR},chef:${CHIEF}` });
  try {
    const approve = (cookie: string, csrf: string) =>
      restarted.api('POST', `/api/alerts/${id}/approve`, undefined, { cookie, 'x-csrf-token': csrf });
    const refused = await approve(chief.cookie, chief.csrf);
    assert.equal(refused.status, 401, refused.text);
    assert.equal(await s.app.domain.redis.exists(sessionKey(chief.cookie)), 0);
    const again = await restarted.api('POST', '/api/session', { token: CHIEF });
    assert.equal(again.status, 201);
    assert.deepEqual(again.json.editor, { name: 'chef', role: 'editor' });
    const cookie = /^(dp_session=[^;]+)/.exec(again.headers.get('set-cookie') ?? '')![1];
    const forbidden = await approve(cookie, String(again.json.csrf));
    assert.equal(forbidden.status, 403);
    assert.equal(String(forbidden.json.error.code), 'forbidden');
    assert.equal((await s.alert(id)).status, 'awaiting_approval');
    assert.equal(pushesOf(s, id).length, 0);
  } finally {
    await restarted.stop();
  }
});

test('an open event stream says signed-out and ends once its session ends: token withdrawn elsewhere, or sign-out', async () => {
  const session = await signIn(s, EDITOR);
  const stream = await fetch(`${s.base}/api/events`, { headers: { cookie: session.cookie } });
  assert.equal(stream.status, 200);
  const ended = readUntilEnd(stream, 10_000);
  const restarted = await startApi(s, { EDITOR_TOKENS: `chef:${CHIEF}:chief` });
  try {
    assert.equal((await restarted.api('GET', '/api/session', undefined, { cookie: session.cookie })).status, 401);
    assert.match(await ended, /event: signed-out\ndata: \{\}\n\n$/);
  } finally {
    await restarted.stop();
  }
  // The browser's reconnection is refused.
  assert.equal((await fetch(`${s.base}/api/events`, { headers: { cookie: session.cookie } })).status, 401);

  const other = await signIn(s, EDITOR);
  const second = await fetch(`${s.base}/api/events`, { headers: { cookie: other.cookie } });
  assert.equal(second.status, 200);
  const closed = readUntilEnd(second, 10_000);
  assert.equal((await other.call('DELETE', '/api/session')).status, 204);
  assert.match(await closed, /event: signed-out/);
});

test('SESSION_MAX_AGE ends a session in constant use, and its open stream at the deadline', async () => {
  // Streams re-check only hourly here: what ends this one is the deadline itself.
  const short = await startApi(s, { SESSION_MAX_AGE: '3s', SESSION_RECHECK_INTERVAL: '1h' });
  try {
    const session = await signIn({ ...s, api: short.api }, EDITOR);
    const record = JSON.parse((await s.app.domain.redis.get(sessionKey(session.cookie)))!) as { createdAt: string; expiresAt: number };
    assert.equal(record.expiresAt - Date.parse(record.createdAt), 3000);
    const stream = await fetch(`${short.base}/api/events`, { headers: { cookie: session.cookie } });
    assert.equal(stream.status, 200);
    const ended = readUntilEnd(stream, 10_000);
    let served = 0;
    const end = Date.now() + 10_000;
    for (;;) {
      assert.ok(Date.now() < end, 'the session was still open 10 s after a 3 s deadline');
      const r = await session.call('GET', '/api/session');
      if (r.status === 401) break;
      assert.equal(r.status, 200);
      served++;
      // Each use renews the idle timeout (12 h) but never past the deadline.
      const expireAt = await s.app.domain.redis.pexpiretime(sessionKey(session.cookie));
      assert.ok(expireAt <= record.expiresAt, `key expires at ${expireAt}, deadline ${record.expiresAt}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(served > 0);
    assert.ok(Date.now() >= record.expiresAt, 'refused only once the deadline had passed');
    assert.match(await ended, /event: signed-out/);
  } finally {
    await short.stop();
  }
});
