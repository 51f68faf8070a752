// Every error leaves as JSON {"error":{"code","message","details"?}} with the right status, and
// never with a stack trace. Unknown errors are logged with their stack and answered as a 500.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { DomainError, type RefusalKind } from '../errors';
import { isRedisDown } from '../store/redis';
import type { Logger } from '../log';

/** What the client sees: a status, a stable code, one sentence, and sometimes details. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'invalid_input', message, details);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

/** The one place where the domain's refusals become HTTP statuses. */
const STATUS: Record<RefusalKind, number> = { invalid: 400, not_found: 404, conflict: 409, forbidden: 403, unprocessable: 422, full: 503 };

export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof DomainError) return new ApiError(STATUS[err.kind], err.code, err.message, err.details);
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const field = first?.path.join('.') || 'body';
    // A schema may name the problem with its own code (invalid_time_zone); the rest is invalid_input.
    const named: unknown = first?.code === 'custom' ? first.params?.code : undefined;
    return new ApiError(
      400,
      typeof named === 'string' ? named : 'invalid_input',
      `${field}: ${first?.message ?? 'invalid'}`,
      err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
    );
  }
  const e = err as { type?: string; status?: number };
  if (e && typeof e === 'object') {
    if (e.type === 'entity.too.large') return new ApiError(413, 'body_too_large', 'request body is too large');
    if (e.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'request body is not valid JSON');
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      return new ApiError(415, 'unsupported_media_type', 'unsupported body encoding');
    if (e.type === 'request.aborted') return new ApiError(400, 'request_aborted', 'request aborted');
  }
  if (isRedisDown(err)) return new ApiError(503, 'unavailable', 'the alert store is unavailable, try again shortly');
  return null;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const apiErr = toApiError(err) ?? new ApiError(500, 'internal', 'internal error');
    if (apiErr.status >= 500 && apiErr.status !== 503) log.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    // A person following a link or posting one of our pages' forms reads HTML; programs get JSON.
    const wantsHtml = req.accepts(['json', 'html']) === 'html';
    res.status(apiErr.status);
    if (wantsHtml && typeof res.locals.renderError === 'function') {
      res.type('html').send((res.locals.renderError as (e: ApiError) => string)(apiErr));
      return;
    }
    res.json({
      error: { code: apiErr.code, message: apiErr.message, ...(apiErr.details !== undefined ? { details: apiErr.details } : {}) },
    });
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** JSON routes refuse other content types with 415 before anything is parsed or stored. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is('application/json')) {
    next(new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json'));
    return;
  }
  next();
};
