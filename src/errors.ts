// The few error classes the domain needs. A DomainError says what kind of refusal it is, never
// how a transport shows it: src/http/errors.ts maps each kind to an HTTP status. The delivery
// errors tell BullMQ whether a batch is worth retrying.
import { UnrecoverableError } from 'bullmq';

/**
 * invalid: the request itself is wrong; not_found: it names nothing we have; conflict: it does not
 * fit the current state; forbidden: this editor may not; unprocessable: well-formed but unusable
 * (a payload too big for a push, an idempotency key reused with another body); full: a capped
 * set the operator sized is full — not the client's fault, not a bug.
 */
export type RefusalKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unprocessable' | 'full';

export class DomainError extends Error {
  override name = 'DomainError';
  /** code: a stable machine-readable name (`not_cancellable`); message: one sentence for people. */
  constructor(
    readonly kind: RefusalKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const invalid = (message: string, details?: unknown) => new DomainError('invalid', 'invalid_input', message, details);
export const notFound = (what: string) => new DomainError('not_found', 'not_found', `${what} not found`);
export const conflict = (code: string, message: string) => new DomainError('conflict', code, message);
export const forbidden = (message: string) => new DomainError('forbidden', 'forbidden', message);

/** A capped set that strangers add to (quiet-hours groups) is full: the request changed nothing. */
export class CapacityReached extends DomainError {
  override name = 'CapacityReached';
  constructor(code: string, message: string) {
    super('full', code, message);
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
  constructor(
    readonly pending: number,
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${pending} recipient(s) to retry: ${reason}`);
  }
}
