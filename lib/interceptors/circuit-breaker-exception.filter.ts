import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Observable, throwError } from 'rxjs';
import { CircuitBreakerOpenError } from '../core/index.js';
import { circuitOpenResponse, setRetryAfter } from './open-error.mapping.js';

interface WsClient {
  readyState?: unknown;
  send?: (data: string) => void;
  emit?: (event: string, data: unknown) => void;
}

/**
 * Maps a `CircuitBreakerOpenError` thrown from a service inside any handler, decorated or not, the way
 * `CircuitBreakerInterceptor` does: HTTP 503 with `Retry-After` and the SPEC body; for RPC an error
 * carrying the same fields; for WebSockets an `exception` event with them.
 *
 * @example
 * providers: [{ provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }]
 * // or: app.useGlobalFilters(new CircuitBreakerExceptionFilter(app.get(HttpAdapterHost)))
 */
@Catch(CircuitBreakerOpenError)
export class CircuitBreakerExceptionFilter implements ExceptionFilter<CircuitBreakerOpenError> {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(error: CircuitBreakerOpenError, host: ArgumentsHost): Observable<never> | void {
    const body = circuitOpenResponse(error);
    switch (host.getType()) {
      case 'rpc':
        return throwError(() => body);
      case 'ws': {
        const client = host.switchToWs().getClient<WsClient>();
        // Native WebSocket clients (`ws`) have a numeric readyState and send(); Socket.IO ones emit().
        if (typeof client.readyState === 'number' && typeof client.send === 'function') client.send(JSON.stringify({ event: 'exception', data: body }));
        else client.emit?.('exception', body);
        return;
      }
      default: {
        const response = host.switchToHttp().getResponse<{ status?: (code: number) => { send?: (b: unknown) => void; json?: (b: unknown) => void } }>();
        const adapter = this.adapterHost?.httpAdapter;
        if (adapter !== undefined) {
          adapter.setHeader(response, 'Retry-After', String(body.retry_after));
          adapter.reply(response, body, HttpStatus.SERVICE_UNAVAILABLE);
          return;
        }
        setRetryAfter(response, body.retry_after);
        const sent = response.status?.(HttpStatus.SERVICE_UNAVAILABLE);
        if (typeof sent?.json === 'function') sent.json(body);
        else sent?.send?.(body);
      }
    }
  }
}
