import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { UseInterceptors } from '@nestjs/common';
import { CIRCUIT_BREAKER_LAYERS } from '../constants.js';
import { CircuitBreakerInterceptor } from '../interceptors/circuit-breaker.interceptor.js';
import { notAMethodMessage } from './decorators.messages.js';
import { type CircuitBreakerLayer, getLayers } from './layers.js';

/**
 * Adds `layer` outside the method's existing layers (decorators run bottom-up) and applies
 * `CircuitBreakerInterceptor` once, which protects the method when it is a route, RPC or WebSocket
 * handler (on other providers the metadata is inert; the explorer wraps those). For method
 * decorators that wrap a method: `@CircuitBreaker`, `@Retry`.
 */
export function pushLayer(target: object, key: string | symbol, descriptor: PropertyDescriptor, layer: CircuitBreakerLayer): void {
  const fn: unknown = descriptor.value;
  if (typeof fn !== 'function') {
    throw new TypeError(notAMethodMessage(layer.kind === 'breaker' ? 'CircuitBreaker' : 'Retry', target, key));
  }
  Reflect.defineMetadata(CIRCUIT_BREAKER_LAYERS, [...getLayers(fn), layer], fn);
  const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, fn) as unknown[] | undefined) ?? [];
  if (!interceptors.includes(CircuitBreakerInterceptor)) UseInterceptors(CircuitBreakerInterceptor)(target, key, descriptor);
}
