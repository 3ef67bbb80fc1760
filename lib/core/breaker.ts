import { ActiveProbe } from './active-probe.js';
import type { CircuitState } from './circuit-state.js';
import type { BreakerEventName, BreakerListener, BreakerLogger } from './events.js';
import { consoleLogger } from './events.js';
import { GuardedCall, type LeaseSource, optionsFallback, type CallFallback } from './guarded-call.js';
import { isThenable } from './guards.js';
import { type CircuitBreakerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { admit, admitLocally, type BreakerPermit, type LeaseGate } from './permit.js';
import { type BreakerSync as SyncPort, RemoteSync, type SharedTransition } from './remote-sync.js';
import type { CircuitBreakerSnapshot } from './snapshot.js';
import {
  CircuitStateMachine,
  CLOSED,
  DISABLED,
  FORCED_OPEN,
  OPEN,
  type StateCode,
  type StateMachineHooks,
  type TransitionCount,
  type TransitionOrigin,
} from './state-machine.js';

// The types of the front's public API, from the parts that define them.
export type { BreakerPermit, SharedTransition, TransitionCount };

/** Extra wiring for a breaker, kept out of `CircuitBreakerOptions` (which is plain configuration). */
export interface BreakerHooks {
  /** where listener errors and probe problems are reported @default console */
  logger?: BreakerLogger;
}

/** What a breaker needs from a shared store (see `CircuitBreakerStore`); attached with `breaker.attachSync()`. */
export type BreakerSync = SyncPort<Breaker>;

/**
 * A circuit breaker: the framework-free engine.
 *
 * ```ts
 * const breaker = new Breaker('payments', { failureThreshold: 3, resetTimeoutMs: 30_000 });
 * const receipt = await breaker.execute((order) => client.charge(order), order);
 * ```
 *
 * No timers: OPEN → HALF_OPEN happens on the next call or any read of the state. Rejections build
 * their error without a stack trace. See `docs/architecture.md` for how a call flows through it.
 */
export class Breaker {
  /** The resolved options (defaults applied). */
  readonly options: ResolvedOptions;

  private readonly m: CircuitStateMachine;
  /** the active probe and the shared store's link, created when the breaker has either */
  private parts: BreakerParts | null = null;
  /** the call site of `execute` beyond its lean path (created on first use) */
  private ownGuard: GuardedCall | null = null;

  constructor(
    /** The breaker's name, used in errors, events, logs and metrics. */
    readonly name: string,
    options?: CircuitBreakerOptions,
    hooks?: BreakerHooks,
  ) {
    const o = resolveOptions(options);
    this.options = o;
    this.m = new CircuitStateMachine(name, o, hooks?.logger ?? consoleLogger);
    if (o.probe !== null) this.partsOf().probe = new ActiveProbe(this.m, o.probe);
  }

  /** The current state. Reading it may move OPEN → HALF_OPEN (lazily, when the open period ended). */
  get state(): CircuitState {
    return this.m.state;
  }

  /**
   * Runs `fn(...args)` through the breaker and returns a Promise of its outcome. `fn` may be sync or
   * async. Rejects with `CircuitBreakerOpenError` without calling `fn` when the breaker does not admit
   * the call (or resolves with `fallback`'s value when one is configured).
   */
  execute<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<R> {
    const m = this.m;
    if (!m.fast && !m.goLean()) return this.guard().callAsync(fn, undefined, args) as Promise<R>;
    // The handlers of the generation the call starts in: fn itself may move the breaker.
    const onOk = m.onOk;
    const onErr = m.onErr;
    let result: R | PromiseLike<R>;
    try {
      result = fn(...args);
    } catch (error) {
      return thrown(error, onErr);
    }
    return adopt(result, onOk, onErr);
  }

  /**
   * `execute()` for method wrappers: calls `fn` with `thisArg` and an argument list (an `arguments`
   * object will do), sparing the rest/spread of `execute(fn, ...args)` on the hot path.
   */
  executeApply<R>(fn: (...args: never[]) => R | PromiseLike<R>, thisArg: unknown, args: ArrayLike<unknown>): Promise<R> {
    const m = this.m;
    if (!m.fast && !m.goLean()) return this.guard().callAsync(fn, thisArg, args) as Promise<R>;
    const onOk = m.onOk;
    const onErr = m.onErr;
    let result: R | PromiseLike<R>;
    try {
      result = Reflect.apply(fn, thisArg, args);
    } catch (error) {
      return thrown(error, onErr);
    }
    return adopt(result, onOk, onErr);
  }

  /**
   * Asks for admission to make one call. Returns a permit to settle with the outcome, or throws
   * `CircuitBreakerOpenError` when the call is not admitted.
   */
  tryAcquire(): BreakerPermit {
    const permit = admitLocally(this.m);
    if (permit === null) throw this.m.openError();
    return permit;
  }

  /**
   * Like `tryAcquire()`, but a half-open probe of a breaker attached to a shared store first waits for
   * the fleet-wide lease (at most the store's `timeoutMs`): then it returns a Promise of the permit.
   * Everywhere else it returns the permit synchronously, or throws `CircuitBreakerOpenError`.
   */
  acquire(): BreakerPermit | Promise<BreakerPermit> {
    const acquired = admit(this.m, this.leaseGate());
    if (acquired === null) throw this.m.openError();
    if (!(acquired instanceof Promise)) return acquired;
    return acquired.then((permit) => {
      if (permit === null) throw this.m.openError();
      return permit;
    });
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends BreakerEventName>(event: E, listener: BreakerListener<E>): () => void {
    return this.m.on(event, listener);
  }

  /** How many listeners are subscribed, to one event or to all. */
  listenerCount(event?: BreakerEventName): number {
    return this.m.listenerCount(event);
  }

  /** Statistics with the exact keys of the wire format. Reading it may move OPEN → HALF_OPEN. */
  snapshot(): CircuitBreakerSnapshot {
    return this.m.snapshot();
  }

  /** Milliseconds until the breaker admits calls again; 0 when it admits them now. */
  get retryAfterMs(): number {
    const m = this.m;
    if (m.s === CLOSED || m.s === DISABLED) return 0;
    m.refresh();
    return m.retryAfterMs();
  }

  /** Counts of every state transition so far (never cleared, not even by `reset()`). */
  transitionCounts(): TransitionCount[] {
    return this.m.transitionCounts();
  }

  /**
   * Back to CLOSED with the window, the totals and the backoff cleared. Calls in flight become stale
   * (their outcomes no longer count toward a decision). Returns false, and emits nothing, when there
   * was nothing to reset.
   */
  reset(): boolean {
    return this.m.reset();
  }

  /** FORCED_OPEN: rejects every call until `reset()`. Returns false when already forced open. */
  forceOpen(): boolean {
    return this.m.moveTo(FORCED_OPEN, 'forced open');
  }

  /** DISABLED: every call passes and is counted; the state holds until `reset()`. */
  disable(): boolean {
    return this.m.moveTo(DISABLED, 'disabled');
  }

  /** Connects the breaker to a shared store (one at a time); returns the function that detaches it. */
  attachSync(sync: BreakerSync): () => void {
    return this.remote().attach(sync);
  }

  /**
   * Applies a transition decided by another instance, without sharing it back. Stale news (older
   * than this breaker's last change) and news that changes nothing are dropped. Returns whether it
   * changed anything.
   */
  applyRemote(change: SharedTransition): boolean {
    return this.remote().apply(change);
  }

  /** Stops the background probe for good (on shutdown). The breaker stays usable, without active probes. */
  dispose(): void {
    this.parts?.probe?.dispose();
  }

  private guard(): GuardedCall {
    return (this.ownGuard ??= guardedCallOf(this, optionsFallback(this.options)));
  }

  private leaseGate(): LeaseGate | null {
    return this.parts?.remote?.gate ?? null;
  }

  private remote(): RemoteSync<Breaker> {
    const parts = this.partsOf();
    return (parts.remote ??= new RemoteSync(this.m, this));
  }

  private partsOf(): BreakerParts {
    if (this.parts === null) {
      this.parts = new BreakerParts();
      this.m.hooks = this.parts;
    }
    return this.parts;
  }
}

/** The active probe and the shared store's link, told of the state machine's transitions. */
class BreakerParts implements StateMachineHooks {
  probe: ActiveProbe | null = null;
  remote: RemoteSync<Breaker> | null = null;

  transitioned(from: StateCode, to: StateCode, reason: string, origin: TransitionOrigin): void {
    if (this.probe !== null) {
      if (to === OPEN) this.probe.start();
      else if (from === OPEN) this.probe.stop();
    }
    this.remote?.transitioned(to, reason, origin);
  }

  slotReleased(): void {
    this.remote?.release();
  }
}

/**
 * A call site of `breaker` with its own fallback (a decorated method's, or the breaker's own): the
 * one call path of `GuardedCall`, for the explorer's method and handler wrappers. Internal: not
 * exported from the package root.
 */
export function guardedCallOf(breaker: Breaker, fallback: CallFallback | null): GuardedCall {
  const internals = breaker as unknown as { m: CircuitStateMachine; leaseGate(): LeaseGate | null };
  const lease: LeaseSource = {
    get gate() {
      return internals.leaseGate();
    },
  };
  return new GuardedCall(internals.m, lease, fallback);
}

/** The lean path's outcome: fn's own promise with its generation's handlers attached, or a sync value settled now. */
function adopt<R>(result: R | PromiseLike<R>, onOk: (value: unknown) => void, onErr: (error: unknown) => void): Promise<R> {
  if (result instanceof Promise) {
    // The caller gets fn's own promise: our handlers run first (registered first), no extra hop.
    result.then(onOk, onErr);
    return result;
  }
  if (isThenable(result)) {
    // A foreign thenable: adopt it so that its outcome (even a throwing `then`) is observed once.
    const adopted: Promise<R> = Promise.resolve(result);
    adopted.then(onOk, onErr);
    return adopted;
  }
  onOk(result);
  return Promise.resolve(result);
}

/** The lean path's synchronous throw from fn: counted in the call's generation, then rejected as it is. */
function thrown(error: unknown, onErr: (error: unknown) => void): Promise<never> {
  onErr(error);
  return Promise.reject(error);
}
