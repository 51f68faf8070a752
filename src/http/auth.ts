// Editor authentication. Two ways in: an API client sends `Authorization: Bearer <secret>`,
// compared in constant time with every configured secret (hashing first makes lengths equal, so
// timing tells nothing about length either); the console sends its session cookie, resolved by
// session.ts before the routes, plus the session's CSRF token on every state-changing request.
// Every token check goes through the sign-in throttle (signin-throttle.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { EditorToken } from '../config';
import type { Session } from '../store/sessions';
import { ApiError } from './errors';
import { tokenChecked } from './signin-throttle';

export interface EditorIdentity {
  name: string;
  role: EditorToken['role'];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The configured token matching the presented secret, if any. */
export function matchEditor(editors: readonly EditorToken[], presented: string): EditorToken | null {
  const given = digest(presented);
  let found: EditorToken | null = null;
  for (const e of editors) {
    // No early exit: every secret is compared whatever matched.
    if (timingSafeEqual(given, digest(e.secret))) found = e;
  }
  return found;
}

export function findEditor(editors: readonly EditorToken[], presented: string): EditorIdentity | null {
  const e = matchEditor(editors, presented);
  return e ? { name: e.name, role: e.role } : null;
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
 * proxies that get SameSite wrong. A Bearer header is a token check like a sign-in, counted by
 * the sign-in throttle. Callable from other middleware without awaiting: errors go to next.
 */
export function requireEditor(editors: readonly EditorToken[]): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) {
      sessionEditor(req, res, next);
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const editor = m ? findEditor(editors, m[1]) : null;
    tokenChecked(req, res, editor !== null).then(() => {
      if (editor) {
        res.locals.editor = editor;
        next();
        return;
      }
      unauthorized(res, next);
    }, next);
  };
}

const sessionEditor: RequestHandler = (req, res, next) => {
  const session = sessionOf(res);
  if (!session) {
    unauthorized(res, next);
    return;
  }
  if (!isSafeMethod(req) && !csrfMatches(req, session)) {
    next(new ApiError(403, 'csrf_failed', `the ${CSRF_HEADER} header is missing or does not match this session; reload the console`));
    return;
  }
  res.locals.editor = { name: session.name, role: session.role } satisfies EditorIdentity;
  next();
};

function unauthorized(res: Response, next: NextFunction): void {
  res.setHeader('WWW-Authenticate', 'Bearer realm="depeche"');
  next(new ApiError(401, 'unauthorized', 'a valid editor token is required (Authorization: Bearer …) or a console session'));
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

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** Routes declared through it all start with the editor check. */
export type EditorRoutes = Record<Method, (path: string, ...handlers: RequestHandler[]) => void>;

/**
 * The one way to require an editor: every route declared through it runs the check (and the role
 * check, when given) before its own handlers. The guard belongs to each route, not to a path
 * prefix, so the order in which app.ts mounts routers cannot open or close a route by accident.
 */
export function editorRoutes(r: Router, editors: readonly EditorToken[], role?: EditorToken['role']): EditorRoutes {
  const guard = role ? [requireEditor(editors), requireRole(role)] : [requireEditor(editors)];
  const on =
    (m: Method) =>
    (path: string, ...handlers: RequestHandler[]): void => {
      r[m](path, ...guard, ...handlers);
    };
  return { get: on('get'), post: on('post'), put: on('put'), patch: on('patch'), delete: on('delete') };
}
