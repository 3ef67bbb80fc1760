import { IntrinsicException } from '@nestjs/common';
import { type CallTimeoutError, type CircuitBreakerOpenError, isCircuitBreakerOpenError } from '../core/index.js';

/** `extensions.code` of a GraphQL error for an open circuit. */
export const GRAPHQL_CIRCUIT_OPEN_CODE = 'SERVICE_UNAVAILABLE';
/** `extensions.code` of a GraphQL error for a call that exceeded `callTimeoutMs`. */
export const GRAPHQL_CALL_TIMEOUT_CODE = 'GATEWAY_TIMEOUT';

/**
 * What a GraphQL client gets for an open circuit (or a call timeout) in a resolver: an error whose
 * `extensions` carry `code` and the fields of the HTTP 503 / 504 body (`breaker`, `circuit_state`,
 * `retry_after` in seconds rounded up, plus `retry_after_ms`; or `breaker`, `timeout_ms`). GraphQL
 * servers copy `extensions` from the error a resolver throws, so no `graphql` import is needed. It is
 * an `IntrinsicException`: Nest does not log it as an unexpected error, once per rejected call.
 */
export class CircuitBreakerGraphQLError extends IntrinsicException {
  readonly extensions: Record<string, unknown>;

  constructor(error: CircuitBreakerOpenError | CallTimeoutError) {
    super(error.message);
    this.name = 'CircuitBreakerGraphQLError';
    this.extensions = isCircuitBreakerOpenError(error)
      ? {
          code: GRAPHQL_CIRCUIT_OPEN_CODE,
          breaker: error.breakerName,
          circuit_state: error.state,
          retry_after: Math.ceil(error.retryAfterMs / 1000),
          retry_after_ms: error.retryAfterMs,
        }
      : { code: GRAPHQL_CALL_TIMEOUT_CODE, breaker: error.breakerName, timeout_ms: error.timeoutMs };
  }
}
