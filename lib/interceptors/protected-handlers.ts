import { type CallHandler, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';

/** A protected route, RPC, WebSocket or GraphQL handler, as `CircuitBreakerInterceptor` runs it. */
export type ProtectedHandler = (context: ExecutionContext, next: CallHandler) => Observable<unknown>;

/**
 * The protected form of every decorated handler of the application, by class and handler function:
 * the explorer fills it at bootstrap, `CircuitBreakerInterceptor` reads it per request.
 */
@Injectable()
export class ProtectedHandlers {
  private readonly byClass = new Map<object, Map<Function, ProtectedHandler>>();

  set(owner: object, handler: Function, protectedHandler: ProtectedHandler): void {
    let byHandler = this.byClass.get(owner);
    if (byHandler === undefined) this.byClass.set(owner, (byHandler = new Map()));
    byHandler.set(handler, protectedHandler);
  }

  /** The protected form of `handler` of `owner`, or undefined for a handler that has none. */
  get(owner: object, handler: Function): ProtectedHandler | undefined {
    return this.byClass.get(owner)?.get(handler);
  }
}
