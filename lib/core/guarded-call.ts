import { CallTimeoutError, type CircuitBreakerOpenError } from './errors.js';
import { isThenable } from './guards.js';
import type { ResolvedOptions } from './options.js';
import { admit, admitLocally, type Admitter, type LeaseGate, type Permit } from './permit.js';

/**
 * A fallback as a call site holds it: called with the call's `this`, the error and the call's
 * arguments. The engine's `fallback` option and a decorator's per-method fallback both become one.
 */
export type CallFallback = (self: unknown, error: unknown, args: ArrayLike<unknown>) => unknown;

/** What a guarded call needs of its breaker's state machine. */
export interface GuardedMachine extends Admitter {
  readonly name: string;
  readonly options: ResolvedOptions;
  openError(): CircuitBreakerOpenError;
  /** emits `fallback`: a fallback is about to be called with `error` */
  fellBack(error: unknown): void;
}

/** Where the fleet-wide half-open lease comes from, when the breaker has a shared store. */
export interface LeaseSource {
  readonly gate: LeaseGate | null;
}

/** The breaker's own `fallback(error, ...args)` option as a call site's fallback; null when it has none. */
export function optionsFallback(options: ResolvedOptions): CallFallback | null {
  const own = options.fallback;
  return own === null ? null : (self, error, args) => own.call(self, error, ...Array.from(args));
}

/**
 * The call timeout (`callTimeoutMs`): an unref'd timer that hands `onTimeout` a `CallTimeoutError`
 * unless the returned function cancels it first. Every form of call (Promise, Observable) uses this.
 */
export function startCallTimer(name: string, timeoutMs: number, onTimeout: (error: CallTimeoutError) => void): () => void {
  const timer = setTimeout(() => onTimeout(new CallTimeoutError(name, timeoutMs)), timeoutMs);
  timer.unref?.();
  return () => clearTimeout(timer);
}

/**
 * One call site of a breaker with its fallback: the one place where a call is admitted, made, timed
 * out, settled (success, failure by error or by `isFailureResult`, ignored) and recovered by the
 * fallback. `Breaker.execute` uses it beyond its lean path (which has no timeout and no fallback);
 * decorated methods, route handlers and fallback chains reach it through `Breaker` or the explorer.
 *
 * The fallback rule: the fallback gets every error of a call that was rejected (open, half-open full,
 * forced open), timed out or failed, never an ignored one; without a fallback the error is rethrown.
 */
export class GuardedCall {
  constructor(
    private readonly m: GuardedMachine,
    private readonly lease: LeaseSource,
    readonly fallback: CallFallback | null,
  ) {}

  /** The breaker's name. */
  get name(): string {
    return this.m.name;
  }

  /** The breaker's `callTimeoutMs`, or null. */
  get timeoutMs(): number | null {
    return this.m.options.callTimeoutMs;
  }

  /**
   * Admission: a permit, a Promise of one when a half-open probe waits for the fleet lease (`wait`:
   * only callers that can wait), or null when the call is rejected (counted).
   */
  admit(wait: boolean): Permit | Promise<Permit | null> | null {
    return wait ? admit(this.m, this.lease.gate) : admitLocally(this.m);
  }

  /** The error for a call rejected now. */
  rejection(): CircuitBreakerOpenError {
    return this.m.openError();
  }

  /** The Promise form: always a Promise, never a throw; a half-open probe waits for the fleet lease. */
  callAsync(fn: Function, self: unknown, args: ArrayLike<unknown>): Promise<unknown> {
    const acquired = this.admit(true);
    if (acquired === null) {
      const error = this.m.openError();
      return this.fallback === null ? rejectSoon(error) : this.recoverAsync(self, error, args, true);
    }
    if (acquired instanceof Promise) {
      return acquired.then((permit) => (permit === null ? this.recover(self, this.m.openError(), args, true) : this.invokeAsync(permit, fn, self, args)));
    }
    return this.invokeAsync(acquired, fn, self, args);
  }

  /**
   * The sync form: a sync outcome stays sync (a rejection or failure throws, or returns the fallback's
   * value); a thenable result is guarded as a Promise. Keeps to the local half-open limit (a sync
   * caller cannot wait for a fleet lease). `adapt` may take over another kind of result (an
   * Observable) by returning something other than undefined.
   */
  callSync(fn: Function, self: unknown, args: ArrayLike<unknown>, adapt?: (permit: Permit, result: object, self: unknown, args: ArrayLike<unknown>) => unknown): unknown {
    const permit = admitLocally(this.m);
    if (permit === null) return this.recover(self, this.m.openError(), args, true);
    let result: unknown;
    try {
      result = fn.apply(self, args);
    } catch (error) {
      return this.recover(self, error, args, permit.failure(error));
    }
    if (adapt !== undefined && result !== null && typeof result === 'object') {
      const adapted = adapt(permit, result, self, args);
      if (adapted !== undefined) return adapted;
    }
    return this.settle(permit, result, self, args);
  }

  /** A call's result: a thenable is guarded (timeout, outcome, fallback), a plain value is a success now. */
  settle(permit: Permit, result: unknown, self: unknown, args: ArrayLike<unknown>): unknown {
    if (isThenable(result)) return this.guardPromise(permit, result, self, args);
    permit.success(result);
    return result;
  }

  /** Settles `permit` with the outcome of `promise`, within `callTimeoutMs` when one is set. */
  guardPromise(permit: Permit, promise: PromiseLike<unknown>, self: unknown, args: ArrayLike<unknown>): Promise<unknown> {
    const timeoutMs = this.timeoutMs;
    const outcome = timeoutMs === null ? Promise.resolve(promise) : withCallTimeout(promise, this.m.name, timeoutMs);
    return outcome.then(
      (value) => {
        permit.success(value);
        return value;
      },
      (error: unknown) => this.recover(self, error, args, permit.failure(error)),
    );
  }

  /**
   * The fallback rule. `failed`: the call was rejected, timed out or counted as a failure (not
   * ignored). Returns the fallback's value (which may be a promise or an Observable), or throws `error`.
   */
  recover(self: unknown, error: unknown, args: ArrayLike<unknown>, failed: boolean): unknown {
    if (this.fallback === null || !failed) throw error;
    this.m.fellBack(error);
    return this.fallback(self, error, args);
  }

  private invokeAsync(permit: Permit, fn: Function, self: unknown, args: ArrayLike<unknown>): Promise<unknown> {
    let result: unknown;
    try {
      result = fn.apply(self, args);
    } catch (error) {
      return this.recoverAsync(self, error, args, permit.failure(error));
    }
    if (isThenable(result)) return this.guardPromise(permit, result, self, args);
    permit.success(result);
    return Promise.resolve(result);
  }

  private recoverAsync(self: unknown, error: unknown, args: ArrayLike<unknown>, failed: boolean): Promise<unknown> {
    try {
      return Promise.resolve(this.recover(self, error, args, failed));
    } catch (thrown) {
      return Promise.reject(thrown);
    }
  }
}

/** Rejects with `CallTimeoutError` unless `promise` settles within `timeoutMs`. */
function withCallTimeout<T>(promise: PromiseLike<T>, name: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = startCallTimer(name, timeoutMs, reject);
    promise.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        cancel();
        reject(error);
      },
    );
  });
}

/**
 * A promise that rejects one promise job later, once the caller has attached its handler: a promise
 * rejected with no handler yet goes through Node's unhandled-rejection bookkeeping (about 0.7 µs),
 * which the OPEN path, taken by all traffic during an outage, should not pay.
 */
export function rejectSoon<T>(error: unknown): Promise<T> {
  // A promise job rather than queueMicrotask: fake-timer libraries replace queueMicrotask, and a
  // rejection must not wait for a test's fake clock.
  return new Promise<T>((_, reject) => {
    RESOLVED.then(() => reject(error));
  });
}
const RESOLVED = Promise.resolve();
