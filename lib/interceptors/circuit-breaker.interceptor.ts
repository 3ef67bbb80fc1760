import { type CallHandler, type ExecutionContext, HttpException, HttpStatus, Injectable, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable, throwError } from 'rxjs';
import { CallTimeoutError, isCircuitBreakerOpenError } from '../core/index.js';
import { CircuitBreakerGraphQLError } from './graphql-error.js';
import { callTimeoutResponse, OpenErrorMapper } from './open-error.mapping.js';
import { ProtectedHandlers } from './protected-handlers.js';

/** The contexts of the calls this interceptor protects (one per request or message). */
const entered = new WeakSet<ExecutionContext>();

/**
 * Applies a handler's `@CircuitBreaker` (the decorator adds this interceptor itself) to route, RPC,
 * WebSocket and GraphQL resolver handlers: the handler's Observable is the call. An open circuit
 * answers 503 with `Retry-After` over HTTP, an `RpcException` or a `WsException` with the same
 * fields for RPC and WebSockets, and over GraphQL an error with `extensions.code`
 * `SERVICE_UNAVAILABLE` (`GATEWAY_TIMEOUT` for a call timeout), which Nest does not log. An
 * `HttpException` below 500 from the handler is ignored (neither success nor failure). Over HTTP, a
 * call that exceeded `callTimeoutMs` answers 504 Gateway Timeout.
 */
@Injectable()
export class CircuitBreakerInterceptor implements NestInterceptor {
  constructor(
    private readonly handlers: ProtectedHandlers,
    private readonly mapper: OpenErrorMapper,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = this.handlers.get(context.getClass(), context.getHandler());
    // Applied twice to one handler (by `@CircuitBreaker` and by hand, or on the class and the
    // method), the interceptors of one call share one context: the outer one protects the call, the
    // inner one passes it through, so one request is one call of the breaker.
    if (handler === undefined || entered.has(context)) return next.handle();
    entered.add(context);
    return handler(context, next).pipe(
      catchError((error: unknown) => {
        if (isCircuitBreakerOpenError(error)) return this.mapper.toTransportError(error, context);
        if (error instanceof CallTimeoutError && context.getType<string>() === 'graphql') return throwError(() => new CircuitBreakerGraphQLError(error));
        if (error instanceof CallTimeoutError && context.getType() === 'http') {
          return throwError(() => new HttpException(callTimeoutResponse(error), HttpStatus.GATEWAY_TIMEOUT));
        }
        return throwError(() => error);
      }),
    );
  }
}
