import { describe, expect, it } from '@jest/globals';
import { type CallHandler, type ExecutionContext, HttpException } from '@nestjs/common';
import { firstValueFrom, of, throwError } from 'rxjs';
import { CallTimeoutError, CircuitBreakerOpenError } from '../core/index.js';
import { CircuitBreakerInterceptor } from './circuit-breaker.interceptor.js';
import { OpenErrorMapper } from './open-error.mapping.js';
import { ProtectedHandlers } from './protected-handlers.js';

class Orders {
  list() {
    return [];
  }
}

/** A minimal HTTP execution context for `Orders.list`, with a response that records headers. */
function httpContext(headers: Record<string, string> = {}): ExecutionContext {
  const response = { header: (name: string, value: string) => (headers[name] = value) };
  return {
    getClass: () => Orders,
    getHandler: () => Orders.prototype.list,
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({}) }),
  } as unknown as ExecutionContext;
}

const next = (value: unknown): CallHandler => ({ handle: () => of(value) });

describe('CircuitBreakerInterceptor', () => {
  it('passes a handler without a protected form straight through', async () => {
    const interceptor = new CircuitBreakerInterceptor(new ProtectedHandlers(), new OpenErrorMapper());
    await expect(firstValueFrom(interceptor.intercept(httpContext(), next('plain')))).resolves.toBe('plain');
  });

  it('runs the protected form the explorer registered, once per call even when applied twice', async () => {
    const handlers = new ProtectedHandlers();
    let runs = 0;
    handlers.set(Orders, Orders.prototype.list, (_context, inner) => {
      runs++;
      return inner.handle();
    });
    const interceptor = new CircuitBreakerInterceptor(handlers, new OpenErrorMapper());
    const context = httpContext();
    // the chain Nest builds for two copies of the interceptor on one handler: one context
    const innerChain: CallHandler = { handle: () => interceptor.intercept(context, next('ok')) };
    await expect(firstValueFrom(interceptor.intercept(context, innerChain))).resolves.toBe('ok');
    expect(runs).toBe(1);
    // a new call (a new context) is protected again
    await firstValueFrom(interceptor.intercept(httpContext(), next('again')));
    expect(runs).toBe(2);
  });

  it('answers an open circuit over HTTP with a 503 HttpException and Retry-After', async () => {
    const handlers = new ProtectedHandlers();
    handlers.set(Orders, Orders.prototype.list, () => throwError(() => new CircuitBreakerOpenError('orders', 'open', 2_500)));
    const headers: Record<string, string> = {};
    const interceptor = new CircuitBreakerInterceptor(handlers, new OpenErrorMapper());
    const error = await firstValueFrom(interceptor.intercept(httpContext(headers), next('never'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(503);
    expect((error as HttpException).getResponse()).toMatchObject({ breaker: 'orders', circuit_state: 'open', retry_after: 3 });
    expect(headers['Retry-After']).toBe('3');
  });

  it('answers a call timeout over HTTP with a 504, and rethrows any other error unchanged', async () => {
    const handlers = new ProtectedHandlers();
    const failure = new Error('downstream');
    let error: Error = new CallTimeoutError('orders', 2_000);
    handlers.set(Orders, Orders.prototype.list, () => throwError(() => error));
    const interceptor = new CircuitBreakerInterceptor(handlers, new OpenErrorMapper());
    const timeout = await firstValueFrom(interceptor.intercept(httpContext(), next('never'))).catch((e: unknown) => e);
    expect((timeout as HttpException).getStatus()).toBe(504);
    error = failure;
    await expect(firstValueFrom(interceptor.intercept(httpContext(), next('never')))).rejects.toBe(failure);
  });
});
