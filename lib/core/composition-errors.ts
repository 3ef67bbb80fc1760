import { allTiersFailedMessage, retryExhaustedMessage } from './composition.messages.js';
import { CircuitBreakerError } from './errors.js';

/**
 * Every attempt of a retried call failed with a retryable error. An error that is not retryable
 * (`retryOn` said no, or a `CircuitBreakerOpenError`) is rethrown as it is instead.
 */
export class RetryExhaustedError extends CircuitBreakerError {
  readonly code = 'RETRY_EXHAUSTED' as const;

  constructor(
    /** How many attempts were made, the first call included. */
    readonly attempts: number,
    /** The error of the last attempt (also the standard `cause`). */
    readonly lastError: unknown,
    /** What was retried, e.g. `PaymentsService.charge`, when known. */
    readonly operation?: string,
  ) {
    super(retryExhaustedMessage(attempts, lastError, operation));
    this.cause = lastError;
  }
}

/** Every tier of a fallback chain failed (a tier whose breaker was open counts with its open error). */
export class AllTiersFailedError extends CircuitBreakerError {
  readonly code = 'ALL_TIERS_FAILED' as const;

  constructor(
    /** The tiers' names, in tier order. */
    readonly tiers: readonly string[],
    /** One error per tier, in tier order: what the tier threw, or its `CircuitBreakerOpenError`. */
    readonly errors: readonly unknown[],
  ) {
    super(allTiersFailedMessage(tiers, errors));
  }
}
