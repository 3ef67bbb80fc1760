import { from, isObservable, Observable, of, type Subscriber } from 'rxjs';
import { type GuardedCall, startCallTimer } from './guarded-call.js';
import { isThenable } from './guards.js';
import type { Permit } from './permit.js';

/** A result as an Observable: Observables as they are, thenables adopted, other values emitted once. */
export function toObservable(value: unknown): Observable<unknown> {
  if (isObservable(value)) return value;
  return isThenable(value) ? from(value) : of(value);
}

/**
 * The Observable form of a guarded call: a cold Observable of which each subscription is one call,
 * admitted on subscribe (a half-open probe waits for the fleet lease). `source()` makes the call's
 * Observable (it is called only once admitted). The rules:
 * - the first error is a failure (or ignored, by the breaker's rules); completion is a success however
 *   many values came, `isFailureResult` applying to the last one;
 * - an unsubscribe after a value is a success (`firstValueFrom`, `take(1)` got their answer); before
 *   any value it counts as neither and gives the permit back;
 * - `callTimeoutMs` unsubscribes from the source and fails the call with `CallTimeoutError`;
 * - a rejection, a timeout or a failure is replaced by the fallback (a value, a promise or an
 *   Observable), as in every form of call.
 */
export function guardedObservable(guard: GuardedCall, source: () => unknown, self: unknown, args: ArrayLike<unknown>): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    const acquired = guard.admit(true);
    if (acquired === null) {
      recoverInto(guard, subscriber, self, guard.rejection(), args, true);
    } else if (!(acquired instanceof Promise)) {
      startCall(guard, subscriber, acquired, source, self, args);
    } else {
      acquired.then((permit) => {
        if (permit === null) {
          if (!subscriber.closed) recoverInto(guard, subscriber, self, guard.rejection(), args, true);
        } else if (subscriber.closed) {
          permit.ignore(); // unsubscribed while waiting for the lease
        } else {
          startCall(guard, subscriber, permit, source, self, args);
        }
      });
    }
  });
}

function startCall(guard: GuardedCall, subscriber: Subscriber<unknown>, permit: Permit, source: () => unknown, self: unknown, args: ArrayLike<unknown>): void {
  let observable: Observable<unknown>;
  try {
    observable = toObservable(source());
  } catch (error) {
    recoverInto(guard, subscriber, self, error, args, permit.failure(error));
    return;
  }
  let cancelTimer: (() => void) | null = null;
  const fail = (error: unknown) => {
    cancelTimer?.();
    recoverInto(guard, subscriber, self, error, args, permit.failure(error));
  };
  // The last value, for `isFailureResult`, and whether there was one.
  let emitted = false;
  let last: unknown;
  const timeoutMs = guard.timeoutMs;
  if (timeoutMs !== null) {
    cancelTimer = startCallTimer(guard.name, timeoutMs, (error) => {
      cancelTimer = null;
      inner.unsubscribe();
      fail(error);
    });
  }
  const inner = observable.subscribe({
    next: (value) => {
      emitted = true; // before next(): the consumer may unsubscribe from inside it
      last = value;
      subscriber.next(value);
    },
    error: fail,
    complete: () => {
      cancelTimer?.();
      if (emitted) permit.success(last);
      else permit.success();
      subscriber.complete();
    },
  });
  subscriber.add(() => {
    cancelTimer?.();
    inner.unsubscribe();
    // Nothing when already settled. Unsubscribed before any value: neither success nor failure.
    if (emitted) permit.success(last);
    else permit.ignore();
  });
}

/** Emits the fallback (value, promise or Observable) into `subscriber`, or the error. */
function recoverInto(guard: GuardedCall, subscriber: Subscriber<unknown>, self: unknown, error: unknown, args: ArrayLike<unknown>, failed: boolean): void {
  let replacement: Observable<unknown>;
  try {
    replacement = toObservable(guard.recover(self, error, args, failed));
  } catch (thrown) {
    subscriber.error(thrown);
    return;
  }
  subscriber.add(replacement.subscribe({
    next: (value) => subscriber.next(value),
    error: (e: unknown) => subscriber.error(e),
    complete: () => subscriber.complete(),
  }));
}
