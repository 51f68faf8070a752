// The fault suite's own knobs, the only place the tests read the environment for them. The
// defaults keep `npm run test:faults` within a few minutes on a 2-core CI machine; the issue's
// full-length outages are FAULT_OUTAGE_MS=30000 (push 500s, SMTP down).
function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
}

export const KNOBS = {
  /** Push subscribers of the worker-kill and SIGTERM scenarios. */
  subscribers: knob('FAULT_SUBSCRIBERS', 10_000),
  /** Subscribers of the Redis-kill scenario. */
  redisSubscribers: knob('FAULT_REDIS_SUBSCRIBERS', 3_000),
  /** How long the push service answers 500, and how long the SMTP server is down. */
  outageMs: knob('FAULT_OUTAGE_MS', 5_000),
  /** How long Redis stays down after its SIGKILL. */
  redisDownMs: knob('FAULT_REDIS_DOWN_MS', 3_000),
  /** JOB_LOCK_MS of the service processes: a killed worker's batches come back after 1–2 of these. */
  jobLockMs: knob('FAULT_JOB_LOCK_MS', 5_000),
  /** PUSH_TIMEOUT_MS of the service processes in the misbehaving-push-service scenario. */
  pushTimeoutMs: knob('FAULT_PUSH_TIMEOUT_MS', 2_000),
  /** The Retry-After, in seconds, of the 429 scenario. */
  retryAfterS: knob('FAULT_RETRY_AFTER_S', 2),
};
