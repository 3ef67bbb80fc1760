import { isRecord } from '../core/guards.js';

// The usual rule for HTTP dependencies: a 4xx answer is the caller's mistake (a bad request, an
// unknown id), not a sign that the dependency is failing, so it must not open a circuit. 408 Request
// Timeout and 429 Too Many Requests are the exceptions: the dependency is slow or shedding load.

/** Statuses below 500 that still count as the dependency failing. */
const DEPENDENCY_4XX: ReadonlySet<number> = new Set([408, 429]);

/** The HTTP status an error or a response carries, if any. */
function statusOf(value: unknown): number | undefined {
  if (!isRecord(value)) return undefined;
  // fetch `Response`, or anything shaped like one
  if (typeof value.status === 'number' && typeof value.ok === 'boolean') return value.status;
  // axios (and @nestjs/axios) errors: `error.response.status`
  const response = value.response;
  if (isRecord(response) && typeof response.status === 'number') return response.status;
  // Nest `HttpException` (and errors with a numeric `status`, as many clients throw)
  if (typeof value.getStatus === 'function') {
    const status: unknown = (value.getStatus as () => unknown)();
    if (typeof status === 'number') return status;
  }
  if (typeof value.status === 'number') return value.status;
  if (typeof value.statusCode === 'number') return value.statusCode;
  return undefined;
}

const isClientStatus = (status: number): boolean => status >= 400 && status < 500 && !DEPENDENCY_4XX.has(status);

/**
 * For `isFailure`: `false` for an error that carries a 4xx status (an axios error with
 * `response.status`, a Nest `HttpException`, an error with `status`/`statusCode`, a thrown fetch
 * `Response`) other than 408 and 429; `true` for everything else (5xx, network errors, timeouts).
 *
 * @example
 * @CircuitBreaker('catalog', { isFailure: isDependencyFailure })
 */
export function isDependencyFailure(error: unknown): boolean {
  const status = statusOf(error);
  return status === undefined || !isClientStatus(status);
}

/**
 * For `isFailureResult`: `true` for a fetch `Response` (or an axios response) whose status is 5xx,
 * 408 or 429, since `fetch` resolves with those instead of rejecting; `false` for any other value.
 *
 * @example
 * breaker.execute(() => fetch(url)) // with { isFailureResult: isDependencyFailureResponse }
 */
export function isDependencyFailureResponse(value: unknown): boolean {
  if (!isRecord(value) || typeof value.status !== 'number') return false;
  return value.status >= 500 || DEPENDENCY_4XX.has(value.status);
}
