import 'reflect-metadata';
import type { RetryOptions } from '../core/index.js';
import { pushLayer } from './push-layer.js';

/**
 * Retries the method with exponential backoff and full jitter (see `retry()` for the options and their
 * defaults). Stores metadata only; the method is wrapped at bootstrap. Works on sync, Promise and
 * Observable methods; a sync method is retried at once, without delay (never a blocking wait).
 *
 * The order of `@Retry` and `@CircuitBreaker` decides the nesting: the decorator written above wraps
 * the one below it.
 *
 * @example
 * // the breaker sees one call per retry sequence
 * @CircuitBreaker('inventory')
 * @Retry({ maxAttempts: 3, baseDelayMs: 200 })
 * reserve(sku: string): Promise<Reservation> { … }
 *
 * @example
 * // every attempt is a breaker call; once it opens, retrying stops at once
 * @Retry({ maxAttempts: 3, baseDelayMs: 200 })
 * @CircuitBreaker('inventory')
 * reserve(sku: string): Promise<Reservation> { … }
 */
export function Retry(options: RetryOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    // Like @CircuitBreaker: the layer goes on a copy of the method's layers, and the interceptor
    // protects the method when it is a route, RPC or WebSocket handler.
    pushLayer(target, key, descriptor, { kind: 'retry', options });
    return descriptor;
  };
}
