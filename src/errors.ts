// The few error classes the project needs. ApiError carries what the client sees; delivery
// errors tell BullMQ whether a batch is worth retrying.
import { UnrecoverableError } from 'bullmq';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'invalid_input', message, details);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

/** A capped set that strangers add to (quiet-hours groups) is full: the request changed nothing. */
export class CapacityReached extends Error {
  override name = 'CapacityReached';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** A delivery failure that retrying cannot fix (bad job data, missing alert). */
export class PermanentDeliveryError extends UnrecoverableError {
  override name = 'PermanentDeliveryError';
}

/** Some recipients of a batch hit transient failures: BullMQ retries the batch with backoff. */
export class TransientBatchError extends Error {
  override name = 'TransientBatchError';
  /** retryAfterMs: the soonest the service said to come back (503 Retry-After); the backoff waits at least that. */
  constructor(readonly pending: number, readonly reason: string, readonly retryAfterMs?: number) {
    super(`${pending} recipient(s) to retry: ${reason}`);
  }
}
