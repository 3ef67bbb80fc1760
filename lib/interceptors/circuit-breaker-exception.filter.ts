import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Observable, throwError } from 'rxjs';
import { CallTimeoutError, CircuitBreakerOpenError, isCircuitBreakerOpenError } from '../core/index.js';
import { CircuitBreakerLimitError, CircuitBreakerNameError } from '../registry/registry.errors.js';
import { CircuitBreakerGraphQLError } from './graphql-error.js';
import { callTimeoutResponse, circuitOpenResponse, setRetryAfter } from './open-error.mapping.js';
import { CircuitBreakerRegistryGraphQLError, type RegistryError, registryErrorResponse } from './registry-error.mapping.js';

type CaughtError = CircuitBreakerOpenError | CallTimeoutError | RegistryError;

/** The HTTP status and body of a caught error (also the payload of the RPC / WS exception). */
function responseFor(error: CaughtError): { status: number; body: object } {
  if (isCircuitBreakerOpenError(error)) return { status: HttpStatus.SERVICE_UNAVAILABLE, body: circuitOpenResponse(error) };
  if (error instanceof CallTimeoutError) return { status: HttpStatus.GATEWAY_TIMEOUT, body: callTimeoutResponse(error) };
  return registryErrorResponse(error);
}

interface WsClient {
  readyState?: unknown;
  send?: (data: string) => void;
  emit?: (event: string, data: unknown) => void;
}

/**
 * Maps a `CircuitBreakerOpenError` thrown from a service inside any handler, decorated or not, the way
 * `CircuitBreakerInterceptor` does: HTTP 503 with `Retry-After` and the documented JSON body; for
 * GraphQL a `CircuitBreakerGraphQLError` (`extensions.code: 'SERVICE_UNAVAILABLE'`, the breaker, its
 * state, the retry time); for RPC an error carrying the same fields as the 503 body; for WebSockets an
 * `exception` event with them. A host of another type is never treated as HTTP. A `CallTimeoutError`
 * (`callTimeoutMs`) is mapped the same way with a 504 Gateway Timeout body, without `Retry-After`.
 * The errors of `registry.getOrCreate()` too: a `CircuitBreakerNameError` (a name that breaks
 * `^[A-Za-z0-9._:-]{1,128}$`, usually taken from the request) is a 400 Bad Request, a
 * `CircuitBreakerLimitError` (`maxBreakers` reached) a 503 without `Retry-After`.
 *
 * @example
 * providers: [{ provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }]
 * // or: app.useGlobalFilters(new CircuitBreakerExceptionFilter(app.get(HttpAdapterHost)))
 */
@Catch(CircuitBreakerOpenError, CallTimeoutError, CircuitBreakerNameError, CircuitBreakerLimitError)
export class CircuitBreakerExceptionFilter implements ExceptionFilter<CaughtError> {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: CaughtError, host: ArgumentsHost): Observable<never> | CircuitBreakerGraphQLError | CircuitBreakerRegistryGraphQLError | undefined {
    const { status, body } = responseFor(error);
    const retryAfter = 'retry_after' in body ? String(body.retry_after) : null;
    switch (host.getType<string>()) {
      case 'graphql':
        // Returned, it is what the resolver yields: GraphQL reports it as the field's error.
        if (isCircuitBreakerOpenError(error) || error instanceof CallTimeoutError) return new CircuitBreakerGraphQLError(error);
        return new CircuitBreakerRegistryGraphQLError(error);
      case 'rpc':
        return throwError(() => body);
      case 'ws': {
        const client = host.switchToWs().getClient<WsClient>();
        // Native WebSocket clients (`ws`) have a numeric readyState and send(); Socket.IO ones emit().
        if (typeof client.readyState === 'number' && typeof client.send === 'function') client.send(JSON.stringify({ event: 'exception', data: body }));
        else client.emit?.('exception', body);
        return;
      }
      case 'http': {
        const response = host.switchToHttp().getResponse<{ status?: (code: number) => { send?: (b: unknown) => void; json?: (b: unknown) => void } }>();
        const adapter = this.adapterHost?.httpAdapter;
        if (adapter !== undefined) {
          if (retryAfter !== null) adapter.setHeader(response, 'Retry-After', retryAfter);
          adapter.reply(response, body, status);
          return;
        }
        if (retryAfter !== null) setRetryAfter(response, Number(retryAfter));
        const sent = response.status?.(status);
        if (typeof sent?.json === 'function') sent.json(body);
        else sent?.send?.(body);
        return;
      }
      default:
        // A transport this filter does not know: never answered as HTTP; Nest's own handling applies.
        return undefined;
    }
  }
}
