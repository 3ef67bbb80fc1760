import { CIRCUIT_BREAKER_LAYERS } from '../constants.js';
import type { CircuitBreakerOptions, RetryOptions } from '../core/index.js';

// Every kind of wrapping layer that method decorators store, and how the explorer reads them back.

/**
 * Options of `@CircuitBreaker`: the engine options (the decorator layer of the precedence
 * `defaults ← decorator ← configs[extends] ← breakers[name]`), plus `extends` and a per-method
 * `fallback`.
 */
export interface CircuitBreakerDecoratorOptions extends Omit<CircuitBreakerOptions, 'fallback'> {
  /** the name of an entry of the module's `configs` to start from (a `breakers` entry's `extends` wins) */
  extends?: string;
  /**
   * Called instead of rethrowing when the call is rejected (open), times out or fails — not for an
   * ignored error. A function, or the name of a method of the same class; either is called with
   * `this` = the instance and `(error, ...args)`. On a route handler `args` is `(context: ExecutionContext)`.
   * It belongs to the method: methods sharing a breaker keep their own fallback.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fallback?: string | ((error: unknown, ...args: any[]) => unknown);
}

/** A `@CircuitBreaker` layer. */
export interface BreakerLayer {
  kind: 'breaker';
  /** @default `ClassName.methodName` of the provider or controller */
  name?: string;
  options?: CircuitBreakerDecoratorOptions;
}

/** The layer `@Retry` stores. */
export interface RetryLayer {
  kind: 'retry';
  options: RetryOptions;
}

/** A wrapping layer of a decorated method; see `CIRCUIT_BREAKER_LAYERS`. */
export type CircuitBreakerLayer = BreakerLayer | RetryLayer;

/** The layers of a method's function, innermost first (empty when it has none). */
export function getLayers(fn: unknown): readonly CircuitBreakerLayer[] {
  if (typeof fn !== 'function') return [];
  return (Reflect.getMetadata(CIRCUIT_BREAKER_LAYERS, fn) as CircuitBreakerLayer[] | undefined) ?? [];
}
