// Console sign-in: an editor trades its token for a session once; from then on the browser sends
// an httpOnly, SameSite=Strict cookie holding the session id, signed so a forged or truncated id is
// rejected before Redis is asked. The CSRF token is handed to the console's script in the JSON
// answer (never in a cookie) and must come back in the X-CSRF-Token header on unsafe methods.
import { createHmac } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import cookieParser from 'cookie-parser';
import { z } from 'zod';
import type { Sessions, Session } from '../store/sessions';
import type { EditorToken } from '../config';
import { ApiError } from './errors';
import { csrfMatches, matchEditor, sessionOf } from './auth';
import { tokenChecked } from './signin-throttle';
import { requireJson } from './errors';
import type { Logger } from '../log';

export const SESSION_COOKIE = 'dp_session';

/** A key of its own for cookies, derived from the token secret so no new secret is needed. */
export function cookieSecret(tokenSecret: string): string {
  return createHmac('sha256', tokenSecret).update('depeche console session cookie').digest('base64url');
}

export function cookies(tokenSecret: string): RequestHandler {
  return cookieParser(cookieSecret(tokenSecret));
}

/**
 * Puts the console session, when the request carries one that still stands (its token still
 * configured with the same role, before its deadline), in res.locals.session.
 */
export function sessionResolver(sessions: Sessions): RequestHandler {
  return async (req, res, next) => {
    const signed = req.signedCookies as Record<string, unknown> | undefined;
    const id = signed?.[SESSION_COOKIE];
    if (typeof id === 'string') {
      const session = await sessions.get(id);
      if (session) res.locals.session = session;
    }
    next();
  };
}

export const signInSchema = z.object({ token: z.string().min(1, 'token is required').max(512) }).strict();

const describe = (s: Session) => ({ editor: { name: s.name, role: s.role }, csrf: s.csrf });

export function sessionRoutes(editors: readonly EditorToken[], sessions: Sessions): Router {
  const r = Router();

  r.post('/api/session', requireJson, async (req, res) => {
    const { token } = signInSchema.parse(req.body ?? {});
    const editor = matchEditor(editors, token);
    await tokenChecked(req, res, editor !== null);
    if (!editor) throw new ApiError(401, 'invalid_token', 'this editor token is not valid');
    const previous = sessionOf(res);
    if (previous) await sessions.destroy(previous.id);
    const session = await sessions.create(editor);
    // No Max-Age: the cookie dies with the browser; Redis ends idle and overdue sessions.
    res.cookie(SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'strict', secure: req.secure, signed: true, path: '/' });
    res.status(201).json(describe(session));
  });

  r.get('/api/session', (_req, res) => {
    const session = sessionOf(res);
    if (!session) throw new ApiError(401, 'unauthorized', 'not signed in');
    res.json(describe(session));
  });

  r.delete('/api/session', async (req, res) => {
    const session = sessionOf(res);
    if (session) {
      if (!csrfMatches(req, session))
        throw new ApiError(403, 'csrf_failed', 'the x-csrf-token header is missing or does not match this session');
      await sessions.destroy(session.id);
    }
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, signed: true, path: '/' });
    res.status(204).end();
  });

  return r;
}

/**
 * Calls `end` once the session no longer stands, for responses that outlive one request (the
 * event stream): at its deadline, and when a periodic look finds it signed out, idle-expired or
 * its token gone. Returns the function that stops watching.
 */
export function watchSession(sessions: Sessions, session: Session, everyMs: number, end: () => void, log: Logger): () => void {
  let done = false;
  const finish = () => {
    if (!done) {
      stop();
      end();
    }
  };
  const look = setInterval(() => {
    sessions.stillOpen(session).then(
      (open) => {
        if (!open) finish();
      },
      (err: unknown) => {
        // Redis away: the stream stays, as its figures do, and the next look decides.
        log.debug({ err: (err as Error).message }, 'session re-check failed');
      },
    );
  }, everyMs);
  // setTimeout holds at most 2^31-1 ms (about 24 days); the periodic look covers anything later.
  const deadline = setTimeout(finish, Math.min(Math.max(session.expiresAt - Date.now(), 0), 2 ** 31 - 1));
  function stop() {
    done = true;
    clearInterval(look);
    clearTimeout(deadline);
  }
  return stop;
}
