import { Inject } from '@nestjs/common';
import { CircuitBreakerConfigError } from '../core/index.js';
import { CIRCUIT_BREAKER_TOKEN_PREFIX } from '../constants.js';
import { DECORATOR_EXPECTED } from './decorators.messages.js';

/**
 * The injection token of breaker `name`: what `@InjectCircuitBreaker(name)` injects, for
 * `Test.createTestingModule(…).overrideProvider(getCircuitBreakerToken(name))`.
 */
export function getCircuitBreakerToken(name: string): string {
  return `${CIRCUIT_BREAKER_TOKEN_PREFIX}${name}`;
}

/**
 * Every name given to `@InjectCircuitBreaker` so far in this process. Decorators run when their
 * class is defined, before `CircuitBreakerModule.forRoot()` is evaluated in the module that imports
 * those classes, so the module can provide a token for each name (as nestjs-pino does for
 * `@InjectPinoLogger`).
 */
const injectedNames = new Set<string>();

/** The names recorded by `@InjectCircuitBreaker` so far, in the order first seen. */
export function injectedBreakerNames(): readonly string[] {
  return [...injectedNames];
}

/**
 * Injects the `Breaker` named `name` of the application's registry, for programmatic use
 * (`breaker.execute(fn, ...args)`). `CircuitBreakerModule.forRoot`/`forRootAsync` provides the
 * token for every name used this way; `CircuitBreakerModule.forFeature([name])` does it in one
 * module, for classes defined after the root module (e.g. loaded lazily).
 *
 * @example
 * constructor(@InjectCircuitBreaker('payments') private readonly breaker: Breaker) {}
 */
export function InjectCircuitBreaker(name: string): PropertyDecorator & ParameterDecorator {
  if (typeof name !== 'string') {
    throw new CircuitBreakerConfigError([{ path: '@InjectCircuitBreaker(name)', expected: DECORATOR_EXPECTED.injectName, value: name }]);
  }
  injectedNames.add(name);
  return Inject(getCircuitBreakerToken(name));
}
