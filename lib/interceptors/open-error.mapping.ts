import { type ArgumentsHost, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { from, mergeMap, type Observable, throwError } from 'rxjs';
import { type CallTimeoutError, type CircuitBreakerOpenError, type CircuitState } from '../core/index.js';
import { CircuitBreakerGraphQLError } from './graphql-error.js';
import { GATEWAY_TIMEOUT, SERVICE_UNAVAILABLE } from './interceptors.messages.js';

/** What a client gets for an open circuit: the 503 body, and the payload of the RPC / WS exception. */
export interface CircuitOpenResponse {
  statusCode: 503;
  error: string;
  /** e.g. `Circuit breaker 'payments' is open` */
  message: string;
  breaker: string;
  circuit_state: CircuitState;
  /** seconds, rounded up (also the `Retry-After` header) */
  retry_after: number;
}

/** The response for an open circuit: 503, `Retry-After` and the JSON body with the breaker, its state and the retry time. */
export function circuitOpenResponse(error: CircuitBreakerOpenError): CircuitOpenResponse {
  return {
    statusCode: HttpStatus.SERVICE_UNAVAILABLE,
    error: SERVICE_UNAVAILABLE,
    message: error.message,
    breaker: error.breakerName,
    circuit_state: error.state,
    retry_after: Math.ceil(error.retryAfterMs / 1000),
  };
}

/** What an HTTP client gets when a protected call timed out (`callTimeoutMs`): a 504. */
export interface CallTimeoutResponse {
  statusCode: 504;
  error: string;
  /** e.g. `Call through circuit breaker 'payments' timed out after 2000 ms` */
  message: string;
  breaker: string;
  timeout_ms: number;
}

/** The 504 response for a call that exceeded `callTimeoutMs`. */
export function callTimeoutResponse(error: CallTimeoutError): CallTimeoutResponse {
  return {
    statusCode: HttpStatus.GATEWAY_TIMEOUT,
    error: GATEWAY_TIMEOUT,
    message: error.message,
    breaker: error.breakerName,
    timeout_ms: error.timeoutMs,
  };
}

/** Sets `Retry-After` on an Express or Fastify response (both have `header()`), or a bare Node one. */
export function setRetryAfter(response: unknown, seconds: number): void {
  const res = response as { header?: (name: string, value: string) => unknown; setHeader?: (name: string, value: string) => unknown };
  if (typeof res.header === 'function') res.header('Retry-After', String(seconds));
  else if (typeof res.setHeader === 'function') res.setHeader('Retry-After', String(seconds));
}

type ExceptionClass = new (error: string | object) => Error;

/**
 * Turns an open-circuit error into the exception of the transport that carried the call:
 * `HttpException` 503 (with `Retry-After`), `RpcException`, `WsException`. `@nestjs/microservices` and
 * `@nestjs/websockets` are optional peers: loaded by `load()` when a handler of theirs is protected.
 */
@Injectable()
export class OpenErrorMapper {
  private readonly loaded = new Map<'rpc' | 'ws', ExceptionClass>();

  async load(transport: 'rpc' | 'ws'): Promise<ExceptionClass> {
    let exception = this.loaded.get(transport);
    if (exception === undefined) {
      exception = transport === 'rpc' ? (await import('@nestjs/microservices')).RpcException : (await import('@nestjs/websockets')).WsException;
      this.loaded.set(transport, exception);
    }
    return exception;
  }

  /** An Observable erroring with what the transport of `host` should carry for an open circuit. */
  toTransportError(error: CircuitBreakerOpenError, host: ArgumentsHost): Observable<never> {
    const body = circuitOpenResponse(error);
    const type = host.getType<string>();
    if (type === 'rpc' || type === 'ws') {
      const exception = this.loaded.get(type);
      if (exception !== undefined) return throwError(() => new exception(body));
      return from(this.load(type)).pipe(mergeMap((loaded) => throwError(() => new loaded(body))));
    }
    if (type === 'graphql') return throwError(() => new CircuitBreakerGraphQLError(error));
    if (type === 'http') setRetryAfter(host.switchToHttp().getResponse(), body.retry_after);
    return throwError(() => (type === 'http' ? new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE) : error));
  }
}
