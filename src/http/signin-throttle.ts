// Sign-in throttling: every check of an editor token (POST /api/session, a Bearer header on any
// editor route) goes through here with its outcome. Failures are counted per client address in
// Redis; once an address has used up its failures, every token it presents, right or wrong, gets
// 429 until the window ends: refusing only wrong guesses would still tell a guesser when one
// is right. Successes cost one GET and count nothing. Console sessions already open are not
// token checks, so an editor signed in behind the same address keeps working.
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { ApiError } from './errors';
import type { Domain } from '../services';
import { SignInFailures } from '../store/signin-failures';

const GATE = 'signInGate';

/** Installed once before every route, so each editor route's token check finds the counter. */
export function signInThrottle(d: Domain): RequestHandler {
  const failures = new SignInFailures(d.redis, d.keys.signInFailures, d.config.http.signIn);
  return (_req, res, next) => {
    res.locals[GATE] = failures;
    next();
  };
}

/**
 * Settles one token check: resolves when the request may go on with its outcome, rejects with a
 * 429 when its address has failed too often (Retry-After set).
 */
export async function tokenChecked(req: Request, res: Response, ok: boolean): Promise<void> {
  const failures = res.locals[GATE] as SignInFailures | undefined;
  // Fail closed: an editor route mounted without the throttle is a bug, not an open door.
  if (!failures) throw new Error('sign-in throttle is not installed in front of this route');
  // Same key as the subscription limit: the address itself, or its /56 for IPv6.
  const address = ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');
  const waitMs = ok ? await failures.blockedFor(address) : await failures.record(address);
  if (waitMs === 0) return;
  const seconds = Math.ceil(waitMs / 1000);
  res.setHeader('Retry-After', String(seconds));
  throw new ApiError(429, 'too_many_failed_sign_ins', `too many failed sign-ins from this address; try again in ${seconds} s`, {
    retryAfterSeconds: seconds,
  });
}
