import { BadRequestException, HttpStatus, IntrinsicException } from '@nestjs/common';
import { CircuitBreakerLimitError, CircuitBreakerNameError } from '../registry/registry.errors.js';
import { SERVICE_UNAVAILABLE } from './interceptors.messages.js';

/** `extensions.code` of a GraphQL error for an invalid breaker name (Apollo's code for bad input). */
export const GRAPHQL_BAD_NAME_CODE = 'BAD_USER_INPUT';
/** `extensions.code` of a GraphQL error for `maxBreakers` reached. */
export const GRAPHQL_BREAKER_LIMIT_CODE = 'SERVICE_UNAVAILABLE';

/** The errors of `registry.getOrCreate()` that a client may cause or should hear about. */
export type RegistryError = CircuitBreakerNameError | CircuitBreakerLimitError;

/** What a client gets when `maxBreakers` is reached: a 503 (the server is out of room). */
export interface BreakerLimitResponse {
  statusCode: 503;
  error: string;
  /** e.g. `Circuit breaker 'tenant-42' was not created: the registry holds maxBreakers (1000) breakers already. …` */
  message: string;
  breaker: string;
  max_breakers: number;
}

/**
 * The status and body for a registry error: 400 with Nest's own `{ statusCode, error, message }` for
 * an invalid name (the message names the rule and quotes at most 40 characters of the name), 503 for
 * `maxBreakers` reached.
 */
export function registryErrorResponse(error: RegistryError): { status: number; body: object } {
  if (error instanceof CircuitBreakerNameError) {
    return { status: HttpStatus.BAD_REQUEST, body: new BadRequestException(error.message).getResponse() as object };
  }
  const body: BreakerLimitResponse = {
    statusCode: HttpStatus.SERVICE_UNAVAILABLE,
    error: SERVICE_UNAVAILABLE,
    message: error.message,
    breaker: error.breakerName,
    max_breakers: error.maxBreakers,
  };
  return { status: HttpStatus.SERVICE_UNAVAILABLE, body };
}

/**
 * What a GraphQL client gets for a registry error in a resolver: an error whose `extensions` carry
 * `code` (`BAD_USER_INPUT` for an invalid name, `SERVICE_UNAVAILABLE` with `breaker` and
 * `max_breakers` for the limit). An `IntrinsicException`: Nest does not log it.
 */
export class CircuitBreakerRegistryGraphQLError extends IntrinsicException {
  readonly extensions: Record<string, unknown>;

  constructor(error: RegistryError) {
    super(error.message);
    this.name = 'CircuitBreakerRegistryGraphQLError';
    this.extensions = error instanceof CircuitBreakerNameError
      ? { code: GRAPHQL_BAD_NAME_CODE }
      : { code: GRAPHQL_BREAKER_LIMIT_CODE, breaker: error.breakerName, max_breakers: error.maxBreakers };
  }
}
