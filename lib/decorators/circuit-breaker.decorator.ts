import { CircuitBreakerConfigError, isRecord } from '../core/index.js';
import { DECORATOR_EXPECTED } from './decorators.messages.js';
import type { CircuitBreakerDecoratorOptions } from './layers.js';
import { pushLayer } from './push-layer.js';

/**
 * Protects a method with a named circuit breaker. It only stores metadata: at bootstrap the
 * explorer wraps provider methods (sync stays sync, Promise stays Promise, an Observable stays a
 * cold Observable whose subscription is the call), and on controllers, RPC handlers and gateways
 * `CircuitBreakerInterceptor` applies the breaker (an open circuit answers 503 / `RpcException` /
 * `WsException`).
 *
 * The name defaults to `ClassName.methodName`; methods naming one breaker share it. Options are the
 * decorator's layer of the precedence `defaults ← decorator ← configs[extends] ← breakers[name]`.
 *
 * @example
 * @CircuitBreaker('payments', { failureThreshold: 3, fallback: 'queueCharge' })
 * async charge(order: Order): Promise<Receipt> { … }
 */
export function CircuitBreaker(options?: CircuitBreakerDecoratorOptions): MethodDecorator;
export function CircuitBreaker(name: string, options?: CircuitBreakerDecoratorOptions): MethodDecorator;
export function CircuitBreaker(nameOrOptions?: string | CircuitBreakerDecoratorOptions, maybeOptions?: CircuitBreakerDecoratorOptions): MethodDecorator {
  const named = typeof nameOrOptions === 'string';
  const options = named ? maybeOptions : nameOrOptions;
  if (!named && nameOrOptions !== undefined && !isRecord(nameOrOptions)) {
    throw new CircuitBreakerConfigError([{ path: '@CircuitBreaker(…)', expected: DECORATOR_EXPECTED.nameOrOptions, value: nameOrOptions }]);
  }
  if (options !== undefined && !isRecord(options)) {
    throw new CircuitBreakerConfigError([{ path: '@CircuitBreaker(name, …)', expected: DECORATOR_EXPECTED.options, value: options }]);
  }
  const name = named ? nameOrOptions : undefined;
  return (target, key, descriptor) => {
    pushLayer(target, key, descriptor, { kind: 'breaker', name, options });
  };
}
