// Editor authentication: a Bearer token compared in constant time with every configured secret
// (hashing first makes lengths equal, so timing tells nothing about length either).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { EditorToken } from '../config';
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

export function requireEditor(editors: readonly EditorToken[]): RequestHandler {
  return (req, res, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const editor = m ? findEditor(editors, m[1]!) : null;
    if (!editor) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="depeche"');
      next(new ApiError(401, 'unauthorized', 'a valid editor token is required (Authorization: Bearer …)'));
      return;
    }
    res.locals.editor = editor;
    next();
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
