import { Inject } from '@nestjs/common';
import { CircuitBreakerConfigError } from '../core/index.js';
import { CIRCUIT_BREAKER_TOKEN_PREFIX } from '../constants.js';
import { DECORATOR_EXPECTED } from './decorators.messages.js';

/** The injection token of breaker `name` (provided by `CircuitBreakerModule.forFeature([name])`). */
export function getCircuitBreakerToken(name: string): string {
  return `${CIRCUIT_BREAKER_TOKEN_PREFIX}${name}`;
}

/**
 * Injects the `Breaker` named `name` of the application's registry, for programmatic use
 * (`breaker.execute(fn, ...args)`). List the name in `CircuitBreakerModule.forFeature([name])` in the
 * module of the injecting provider.
 *
 * @example
 * constructor(@InjectCircuitBreaker('payments') private readonly breaker: Breaker) {}
 */
export function InjectCircuitBreaker(name: string): PropertyDecorator & ParameterDecorator {
  if (typeof name !== 'string') {
    throw new CircuitBreakerConfigError([{ path: '@InjectCircuitBreaker(name)', expected: DECORATOR_EXPECTED.injectName, value: name }]);
  }
  return Inject(getCircuitBreakerToken(name));
}
