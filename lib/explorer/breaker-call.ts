import { isObservable } from 'rxjs';
import { type Breaker, type CallFallback, type GuardedCall, guardedCallOf, guardedObservable, optionsFallback } from '../core/index.js';

/**
 * What a method returns, as far as bootstrap can tell: `promise` (an `async` method, or one declared
 * `Promise<T>`), `observable` (declared `Observable<T>`), or `auto` (decided per call from the
 * returned value; sync stays sync).
 */
export type ReturnKind = 'promise' | 'observable' | 'auto';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (this: any, ...args: any[]) => any;

/** A method's fallback, resolved at bootstrap: called with the call's `this`, the error and the call's arguments. */
export type LayerFallback = CallFallback;

/**
 * One method behind one breaker: the wrapper that replaces it keeps `this`, the arguments and the
 * return kind, and hands every call to the breaker's one call path (`GuardedCall`):
 * - `promise`: `breaker.executeApply()` (its lean path) when neither the method nor the breaker has a
 *   fallback, else the guarded Promise form;
 * - `observable`: the guarded Observable form (each subscription is one call, the method runs then);
 * - `auto`: the guarded sync form; a returned promise is guarded as such, and a returned Observable
 *   teaches the wrapper that the method is an Observable method.
 */
export class BreakerCall {
  private readonly guard: GuardedCall;

  constructor(
    private readonly fn: AnyFunction,
    private readonly breaker: Breaker,
    fallback: LayerFallback | null,
    private kind: ReturnKind,
  ) {
    // Without a method fallback the breaker's own (from its options) applies, with the method's arguments.
    this.guard = guardedCallOf(breaker, fallback ?? optionsFallback(breaker.options));
  }

  /** The wrapper that replaces the method. */
  toFunction(): AnyFunction {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const call = this;
    const { fn, breaker, guard } = this;
    /* eslint-disable prefer-rest-params */
    if (this.kind === 'promise' && guard.fallback === null) {
      return function circuitBreakerWrapper(this: unknown) {
        return breaker.executeApply(fn, this, arguments);
      };
    }
    return function circuitBreakerWrapper(this: unknown) {
      switch (call.kind) {
        case 'promise':
          return guard.callAsync(fn, this, arguments);
        case 'observable':
          return guardedObservable(guard, call.invoker(this, arguments), this, arguments);
        default:
          return guard.callSync(fn, this, arguments, call.adaptObservable);
      }
    };
    /* eslint-enable prefer-rest-params */
  }

  /** Calls the method later (on subscribe), with this call's `this` and arguments. */
  private invoker(self: unknown, args: ArrayLike<unknown>): () => unknown {
    return () => this.fn.apply(self, args as unknown[]);
  }

  /**
   * An `auto` method returned an Observable: from now on it runs on subscribe. This call's Observable
   * exists already; its permit is given back and each subscription to it is one call.
   */
  private readonly adaptObservable = (permit: { release(): void }, result: object, self: unknown, args: ArrayLike<unknown>): unknown => {
    if (!isObservable(result)) return undefined;
    this.kind = 'observable';
    permit.release();
    return guardedObservable(this.guard, () => result, self, args);
  };
}
