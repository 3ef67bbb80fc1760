import { brandErrorClass } from '../core/errors.js';
import { CircuitBreakerConfigError, CircuitBreakerError, type ConfigProblem } from '../core/index.js';
import { breakerLimitMessage, invalidNameMessage } from './registry.messages.js';

/**
 * A name no breaker of a registry can have: it does not match `^[A-Za-z0-9._:-]{1,128}$`, or it is
 * reserved for the management API (`events`, `dashboard`, `reset-all`). Thrown by
 * `registry.getOrCreate()`; `CircuitBreakerExceptionFilter` answers it with HTTP 400, since such a name
 * usually comes from the request. A `CircuitBreakerConfigError`, as before it existed; its message
 * quotes at most 40 characters of the name.
 */
export class CircuitBreakerNameError extends CircuitBreakerConfigError {
  /** the name received, whole (it may be long, or not a string) */
  readonly value: unknown;
  /** the rule it breaks, e.g. `expected a breaker name matching /^[A-Za-z0-9._:-]{1,128}$/` */
  readonly expected: string;

  constructor(problem: ConfigProblem) {
    super([problem]);
    this.value = problem.value;
    this.expected = problem.expected;
    this.message = invalidNameMessage(problem.value, problem.expected);
  }
}

/**
 * `registry.getOrCreate()` of a new name while the registry holds `maxBreakers` breakers. Nothing is
 * created and the existing breakers are untouched. `CircuitBreakerExceptionFilter` answers it with
 * HTTP 503: the server is out of room, not the client wrong.
 */
export class CircuitBreakerLimitError extends CircuitBreakerError {
  readonly code = 'BREAKER_LIMIT' as const;

  constructor(
    /** the name that was not created */
    readonly breakerName: string,
    /** the module's `maxBreakers` */
    readonly maxBreakers: number,
  ) {
    super(breakerLimitMessage(breakerName, maxBreakers));
  }
}

// Both builds of the package recognise each other's errors (the exception filter's @Catch included).
brandErrorClass(CircuitBreakerNameError, Symbol.for('nestjs-circuit-breaker.name-error'));
brandErrorClass(CircuitBreakerLimitError, Symbol.for('nestjs-circuit-breaker.limit-error'));
