// Editor authentication. Two ways in: an API client sends `Authorization: Bearer <secret>`,
// compared in constant time with every configured secret (hashing first makes lengths equal, so
// timing tells nothing about length either); the console sends its session cookie, resolved by
// session.ts before the routes, plus the session's CSRF token on every state-changing request.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { EditorToken } from '../config';
import type { Session } from '../store/sessions';
import { ApiError } from '../errors';

export interface EditorIdentity { name: string; role: EditorToken['role'] }

const digest = (s: string) => createHash('sha256').update(s).digest();

export function findEditor(editors: readonly EditorToken[], presented: string): EditorIdentity | null {
  const given = digest(presented);
  let found: EditorIdentity | null = null;
  for (const e of editors) {
    // No early exit: every secret is compared whatever matched.
    if (timingSafeEqual(given, digest(e.secret))) found = { name: e.name, role: e.role };
  }
  return found;
}

export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafeMethod = (req: Request) => SAFE_METHODS.has(req.method);

/** The console session resolved for this request by session.ts, if any. */
export function sessionOf(res: Response): Session | undefined {
  return res.locals.session as Session | undefined;
}

export function csrfMatches(req: Request, session: Session): boolean {
  const given = req.get(CSRF_HEADER);
  return given !== undefined && timingSafeEqual(digest(given), digest(session.csrf));
}

/**
 * A Bearer token, or a console session whose CSRF token comes with any unsafe method. The
 * session cookie is SameSite=Strict already; the token is the second lock, for browsers or
 * proxies that get SameSite wrong.
 */
export function requireEditor(editors: readonly EditorToken[]): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const editor = m ? findEditor(editors, m[1]!) : null;
      if (editor) { res.locals.editor = editor; next(); return; }
    } else {
      const session = sessionOf(res);
      if (session) {
        if (!isSafeMethod(req) && !csrfMatches(req, session)) {
          next(new ApiError(403, 'csrf_failed', `the ${CSRF_HEADER} header is missing or does not match this session; reload the console`));
          return;
        }
        res.locals.editor = { name: session.name, role: session.role } satisfies EditorIdentity;
        next();
        return;
      }
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="depeche"');
    next(new ApiError(401, 'unauthorized', 'a valid editor token is required (Authorization: Bearer …) or a console session'));
  };
}

export function editorOf(locals: Record<string, unknown>): EditorIdentity {
  return locals.editor as EditorIdentity;
}

/** After requireEditor: refuses (403) an authenticated editor whose token lacks the role. */
export function requireRole(role: EditorToken['role']): RequestHandler {
  return (_req, res, next) => {
    if (editorOf(res.locals).role !== role) {
      next(new ApiError(403, 'forbidden', `this action needs a ${role} token`));
      return;
    }
    next();
  };
}
