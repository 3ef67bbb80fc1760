import { from, isObservable, Observable, of, type Subscriber } from 'rxjs';
import { type Breaker, type BreakerPermit, CallTimeoutError } from '../core/index.js';

/**
 * What a method returns, as far as bootstrap can tell: `promise` (an `async` method, or one declared
 * `Promise<T>`), `observable` (declared `Observable<T>`), or `auto` (decided per call from the
 * returned value; sync stays sync).
 */
export type ReturnKind = 'promise' | 'observable' | 'auto';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (this: any, ...args: any[]) => any;

/** A method's fallback, resolved at bootstrap: called with the call's `this`, the error and the call's arguments. */
export type LayerFallback = (self: unknown, error: unknown, args: ArrayLike<unknown>) => unknown;

/** The arguments of a call whose fallback-free path needs none after the call. */
const NO_ARGS: ArrayLike<unknown> = Object.freeze([]);

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A method's result as an Observable: Observables as they are, promises adopted, other values emitted once. */
function toObservable(value: unknown): Observable<unknown> {
  if (isObservable(value)) return value;
  return isThenable(value) ? from(value) : of(value);
}

/** Rejects with `CallTimeoutError` unless `promise` settles within `timeoutMs` (an unref'd timer). */
function withTimeout<T>(promise: PromiseLike<T>, timeoutMs: number, name: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CallTimeoutError(name, timeoutMs)), timeoutMs);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * One method behind one breaker. Its wrapper keeps the method's return kind:
 * - `promise`: `breaker.execute()` (its lean path, its call timeout), or a permit when a fallback
 *   must see the method's own arguments;
 * - `observable`: a cold Observable; each subscription is one call admitted on subscribe (the method
 *   itself runs then); the first error is a failure, completion a success however many values came,
 *   an unsubscribe before either releases the permit and counts as neither;
 * - `auto`: a permit around a synchronous call; a returned promise or Observable is settled as such.
 */
export class BreakerCall {
  private readonly fallback: LayerFallback | null;

  constructor(
    private readonly fn: AnyFunction,
    private readonly breaker: Breaker,
    fallback: LayerFallback | null,
    private kind: ReturnKind,
  ) {
    // Without a method fallback the breaker's own (from its options) applies, with the method's arguments.
    const own = breaker.options.fallback;
    this.fallback = fallback ?? (own === null ? null : (self, error, args) => own.call(self, error, ...Array.from(args)));
  }

  /**
   * The wrapper that replaces the method: `this` and the arguments pass through. Without a fallback
   * the arguments are needed for nothing but the call itself, so the sync and promise paths hand
   * `arguments` straight to `breaker.executeApply` / `fn.apply` and create no closure.
   */
  toFunction(): AnyFunction {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const call = this;
    const { fn, breaker } = this;
    /* eslint-disable prefer-rest-params */
    if (this.fallback === null && this.kind === 'promise') {
      return function circuitBreakerWrapper(this: unknown) {
        return breaker.executeApply(fn, this, arguments);
      };
    }
    if (this.fallback === null && this.kind === 'auto') {
      return function circuitBreakerWrapper(this: unknown) {
        if (call.kind !== 'auto') return call.run(this, Array.prototype.slice.call(arguments));
        const permit = breaker.tryAcquire();
        let result: unknown;
        try {
          result = fn.apply(this, arguments as unknown as unknown[]);
        } catch (error) {
          permit.failure(error);
          throw error;
        }
        if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
          permit.success(result);
          return result;
        }
        return call.settleResult(permit, result, this, NO_ARGS);
      };
    }
    return function circuitBreakerWrapper(this: unknown) {
      return call.run(this, arguments);
    };
    /* eslint-enable prefer-rest-params */
  }

  private run(self: unknown, args: ArrayLike<unknown>): unknown {
    switch (this.kind) {
      case 'promise':
        return this.runPromise(self, args); // with a fallback: it must see the method's own arguments
      case 'observable':
        return new Observable<unknown>((subscriber) => {
          this.subscribe(subscriber, self, args, undefined);
        });
      default:
        return this.runAuto(self, args);
    }
  }

  /** The sync path, its outcome (a throw included) as a Promise: a promise method never throws. */
  private runPromise(self: unknown, args: ArrayLike<unknown>): Promise<unknown> {
    try {
      return Promise.resolve(this.runAuto(self, args, true));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Admits and makes the call. `wait`: a half-open probe of a breaker with a shared store waits for
   * the fleet-wide lease (a sync caller cannot wait: it keeps to the local limit).
   */
  private runAuto(self: unknown, args: ArrayLike<unknown>, wait = false): unknown {
    let acquired: BreakerPermit | Promise<BreakerPermit>;
    try {
      acquired = wait ? this.breaker.acquire() : this.breaker.tryAcquire();
    } catch (error) {
      return this.recover(self, error, args, true);
    }
    if (acquired instanceof Promise) {
      return acquired.then((permit) => this.callWith(permit, self, args), (error: unknown) => this.recover(self, error, args, true));
    }
    return this.callWith(acquired, self, args);
  }

  private callWith(permit: BreakerPermit, self: unknown, args: ArrayLike<unknown>): unknown {
    let result: unknown;
    try {
      result = this.fn.apply(self, args as unknown[]);
    } catch (error) {
      return this.recover(self, error, args, permit.failure(error));
    }
    return this.settleResult(permit, result, self, args);
  }

  /** Settles what the method returned: a promise when it settles, an Observable on subscribe, a value now. */
  private settleResult(permit: BreakerPermit, result: unknown, self: unknown, args: ArrayLike<unknown>): unknown {
    if (isThenable(result)) return this.settleAsync(permit, result, self, args);
    if (isObservable(result)) {
      // Learned: from now on the method runs on subscribe. This call's Observable exists already.
      this.kind = 'observable';
      permit.release();
      return new Observable<unknown>((subscriber) => {
        this.subscribe(subscriber, self, args, result);
      });
    }
    permit.success(result);
    return result;
  }

  private settleAsync(permit: BreakerPermit, result: PromiseLike<unknown>, self: unknown, args: ArrayLike<unknown>): Promise<unknown> {
    const timeoutMs = this.breaker.options.callTimeoutMs;
    const outcome = timeoutMs === null ? Promise.resolve(result) : withTimeout(result, timeoutMs, this.breaker.name);
    return outcome.then(
      (value) => {
        permit.success(value);
        return value;
      },
      (error: unknown) => this.recover(self, error, args, permit.failure(error)),
    );
  }

  /**
   * The fallback's value when the error calls for it — `failed`: the call was rejected, timed out or
   * counted as a failure (not ignored); else rethrows.
   */
  private recover(self: unknown, error: unknown, args: ArrayLike<unknown>, failed: boolean): unknown {
    if (this.fallback === null || !failed) throw error;
    return this.fallback(self, error, args);
  }

  /** One subscription, one call: admitted now, or once a shared store grants a half-open probe its lease. */
  private subscribe(subscriber: Subscriber<unknown>, self: unknown, args: ArrayLike<unknown>, made: Observable<unknown> | undefined): void {
    let acquired: BreakerPermit | Promise<BreakerPermit>;
    try {
      acquired = this.breaker.acquire();
    } catch (error) {
      this.recoverInto(subscriber, self, error, args, true);
      return;
    }
    if (!(acquired instanceof Promise)) {
      this.startCall(subscriber, acquired, self, args, made);
      return;
    }
    acquired.then(
      (permit) => {
        if (subscriber.closed) permit.ignore(); // unsubscribed while waiting for the lease
        else this.startCall(subscriber, permit, self, args, made);
      },
      (error: unknown) => {
        if (!subscriber.closed) this.recoverInto(subscriber, self, error, args, true);
      },
    );
  }

  private startCall(subscriber: Subscriber<unknown>, permit: BreakerPermit, self: unknown, args: ArrayLike<unknown>, made: Observable<unknown> | undefined): void {
    let source: Observable<unknown>;
    try {
      source = made ?? toObservable(this.fn.apply(self, args as unknown[]));
    } catch (error) {
      this.recoverInto(subscriber, self, error, args, permit.failure(error));
      return;
    }
    const timeoutMs = this.breaker.options.callTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const fail = (error: unknown) => {
      if (timer !== null) clearTimeout(timer);
      this.recoverInto(subscriber, self, error, args, permit.failure(error));
    };
    if (timeoutMs !== null) {
      timer = setTimeout(() => {
        timer = null;
        inner.unsubscribe();
        fail(new CallTimeoutError(this.breaker.name, timeoutMs));
      }, timeoutMs);
      timer.unref?.();
    }
    // The last value, for `isFailureResult`, and whether there was one: a consumer that unsubscribes
    // after a value (`firstValueFrom`, `take(1)`) got its answer, so that call is a success.
    let emitted = false;
    let last: unknown;
    const inner = source.subscribe({
      next: (value) => {
        emitted = true; // before next(): the consumer may unsubscribe from inside it
        last = value;
        subscriber.next(value);
      },
      error: fail,
      complete: () => {
        if (timer !== null) clearTimeout(timer);
        if (emitted) permit.success(last);
        else permit.success();
        subscriber.complete();
      },
    });
    subscriber.add(() => {
      if (timer !== null) clearTimeout(timer);
      inner.unsubscribe();
      // Nothing when already settled. Unsubscribed before any value: neither success nor failure.
      if (emitted) permit.success(last);
      else permit.ignore();
    });
  }

  /** Emits the fallback (value, promise or Observable) into `subscriber`, or the error. */
  private recoverInto(subscriber: Subscriber<unknown>, self: unknown, error: unknown, args: ArrayLike<unknown>, failed: boolean): void {
    let replacement: Observable<unknown>;
    try {
      replacement = toObservable(this.recover(self, error, args, failed));
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
}
