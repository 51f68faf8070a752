// Every duration variable takes the same syntax: a whole number with an optional unit (ms, s, m,
// h, d; none means seconds). Before, MIN_ALERT_GAP refused `1d` while CONFIRM_TTL refused `ms`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config';

const base = { REDIS_URL: 'redis://127.0.0.1:6379' };

test('durations: MIN_ALERT_GAP, CONFIRM_TTL, SESSION_MAX_AGE and SIGNIN_WINDOW accept the same units', () => {
  const c = loadConfig({
    ...base,
    MIN_ALERT_GAP: '1d',
    CONFIRM_TTL: '90m',
    SESSION_MAX_AGE: '3600',
    SIGNIN_WINDOW: '1500ms',
    SESSION_RECHECK_INTERVAL: '2s',
  });
  assert.equal(c.workflow.minAlertGapMs, 86_400_000);
  assert.equal(c.email.confirmTtlSeconds, 5400);
  assert.equal(c.http.sessionMaxAgeSeconds, 3600);
  assert.equal(c.http.signIn.windowMs, 1500);
  assert.equal(c.http.sessionRecheckMs, 2000);
  const d = loadConfig({ ...base, MIN_ALERT_GAP: '900ms', CONFIRM_TTL: '7d' });
  assert.equal(d.workflow.minAlertGapMs, 900);
  assert.equal(d.email.confirmTtlSeconds, 7 * 86400);
});

test('durations: defaults hold, and a malformed or over-long value stops the start with one line naming the variable', () => {
  const c = loadConfig(base);
  assert.equal(c.email.confirmTtlSeconds, 7 * 86400);
  assert.equal(c.email.confirmResendSeconds, 600);
  assert.equal(c.http.sessionMaxAgeSeconds, 12 * 3600);
  assert.equal(c.workflow.minAlertGapMs, 0);
  assert.throws(() => loadConfig({ ...base, MIN_ALERT_GAP: '15 minutes' }), /^Error: configuration: MIN_ALERT_GAP must be a duration like/);
  assert.throws(() => loadConfig({ ...base, CONFIRM_TTL: '0' }), /configuration: CONFIRM_TTL must be longer than 0/);
  assert.throws(() => loadConfig({ ...base, SESSION_MAX_AGE: '31d' }), /configuration: SESSION_MAX_AGE must be at most 30d/);
});
