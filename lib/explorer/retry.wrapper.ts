import { isObservable, type Observable, retry as retryWhen, throwError, timer } from 'rxjs';
import { isThenable } from '../core/guards.js';
import { RetryPolicy, type RetryOptions } from '../core/retry.js';

/** Where a retry layer sits: names the method in errors. */
export interface RetryLayerContext {
  className: string;
  methodName: string;
}

/**
 * Wraps `fn` (a method, or the next inner layer) with a retry policy. Validates `options` at once, so
 * a bad `@Retry` fails the bootstrap, naming the method. The wrapper keeps `this` and the return kind,
 * decided by what each call returns:
 *
 * - a Promise (or thenable): a Promise, retried after backoff delays;
 * - an Observable: a cold Observable; each attempt is a new subscription to it, after the same delays
 *   (values an attempt emitted before failing are not taken back);
 * - a plain value: returned as it is. A synchronous throw is retried **at once, without delay**: a
 *   sync caller cannot wait without blocking the event loop, which is never acceptable in Node. Make the
 *   method async (or return an Observable) to get backoff delays.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function wrapRetryLayer<F extends (this: any, ...args: any[]) => unknown>(fn: F, options: RetryOptions | undefined, context: RetryLayerContext): F {
  const policy = new RetryPolicy(options, { operation: `${context.className}.${context.methodName}` });
  return function retryLayer(this: unknown, ...args: unknown[]): unknown {
    const call = () => fn.apply(this, args);
    let attempt = 1;
    for (;;) {
      let result: unknown;
      try {
        result = call();
      } catch (error) {
        policy.nextDelayMs(error, attempt); // throws when retrying must stop; the delay is skipped (see above)
        attempt++;
        continue;
      }
      if (isObservable(result)) return retryObservable(policy, result, attempt);
      if (isThenable(result)) return policy.executeFrom(call, attempt, result);
      return result;
    }
  } as F;
}

/** Resubscribes `source` after each retryable error, `firstAttempt` being the number of its first subscription. */
function retryObservable<T>(policy: RetryPolicy, source: Observable<T>, firstAttempt: number): Observable<T> {
  return source.pipe(
    retryWhen({
      delay: (error: unknown, retryCount: number) => {
        let ms: number;
        try {
          ms = policy.nextDelayMs(error, firstAttempt + retryCount - 1);
        } catch (final) {
          return throwError(() => final);
        }
        return timer(ms);
      },
    }),
  );
}
