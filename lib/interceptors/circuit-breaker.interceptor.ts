import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { catchError, type Observable, throwError } from 'rxjs';
import { CircuitBreakerOpenError } from '../core/index.js';
import { CircuitBreakerExplorer } from '../explorer/circuit-breaker.explorer.js';
import { OpenErrorMapper } from './open-error.mapping.js';

/**
 * Applies a handler's `@CircuitBreaker` (the decorator adds this interceptor itself) to route, RPC
 * and WebSocket handlers: the handler's Observable is the call. An open circuit answers 503 with
 * `Retry-After` over HTTP, an `RpcException` or a `WsException` with the same fields elsewhere. An
 * `HttpException` below 500 from the handler is ignored (neither success nor failure).
 */
@Injectable()
export class CircuitBreakerInterceptor implements NestInterceptor {
  constructor(
    private readonly explorer: CircuitBreakerExplorer,
    private readonly mapper: OpenErrorMapper,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const handler = this.explorer.handlerFor(context.getClass(), context.getHandler());
    if (handler === undefined) return next.handle();
    return handler(context, next).pipe(
      catchError((error: unknown) =>
        error instanceof CircuitBreakerOpenError ? this.mapper.toTransportError(error, context) : throwError(() => error)),
    );
  }
}
