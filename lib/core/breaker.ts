import { CircuitState } from './circuit-state.js';
import type { Clock } from './clock.js';
import { CallTimeoutError, CircuitBreakerOpenError } from './errors.js';
import {
  type BreakerEventMap,
  type BreakerEventName,
  type BreakerListener,
  type BreakerLogger,
  consoleLogger,
} from './events.js';
import { type CircuitBreakerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { CountWindow, type OutcomeWindow, TimeWindow } from './outcome-window.js';
import { type CircuitBreakerSnapshot, percent } from './snapshot.js';

// Internal state codes: an integer compare on the hot path instead of a string compare.
const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const FORCED_OPEN = 3;
const DISABLED = 4;
type StateCode = 0 | 1 | 2 | 3 | 4;
const STATE_NAMES: readonly CircuitState[] = [
  CircuitState.CLOSED,
  CircuitState.OPEN,
  CircuitState.HALF_OPEN,
  CircuitState.FORCED_OPEN,
  CircuitState.DISABLED,
];
const MANUAL_RESET = 'manual reset';
/** Suggested retry delay for a caller rejected because every half-open probe slot is taken. */
const HALF_OPEN_RETRY_AFTER_MS = 1_000;

type Listeners = { [E in BreakerEventName]?: BreakerListener<E>[] };

/** Extra wiring for a breaker, kept out of `CircuitBreakerOptions` (which is plain configuration). */
export interface BreakerHooks {
  /** where listener errors and probe problems are reported @default console */
  logger?: BreakerLogger;
}

/**
 * A state change to share with other instances of the service, or one received from them.
 * Times are wall-clock epoch milliseconds: monotonic clocks of different processes do not compare.
 */
export interface SharedTransition {
  /** the new state; `reset` is a manual reset (back to closed with the statistics cleared) */
  state: 'open' | 'closed' | 'forced_open' | 'disabled' | 'reset';
  /** for `open`: when the open period ends (epoch ms) */
  openUntil?: number;
  reason: string;
  /** when it happened (epoch ms) */
  at: number;
}

/**
 * What a breaker needs from a shared store (see `CircuitBreakerStore`); attached with
 * `breaker.attachSync()`. The CLOSED path never calls it.
 */
export interface BreakerSync {
  /** A local transition happened; share it (without making the caller wait). */
  publish(breaker: Breaker, transition: SharedTransition): void;
  /**
   * A half-open probe wants a fleet-wide lease. Resolves true when granted — and true as well when the
   * store cannot answer in time (availability first: the local limit still holds).
   */
  acquireProbe(breaker: Breaker): Promise<boolean>;
  /** A probe that held a lease settled without deciding anything (ignored). */
  releaseProbe(breaker: Breaker): void;
}

/** A transition count, for metrics. */
export interface TransitionCount {
  from: CircuitState;
  to: CircuitState;
  count: number;
}

/**
 * Admission to make one call through a breaker, for callers that settle outcomes themselves
 * (sync code, Observables). Settles once: later calls do nothing.
 */
export interface BreakerPermit {
  /** The call succeeded. With a value, `isFailureResult` is applied to it. */
  success(value?: unknown): void;
  /**
   * The call failed with `error`; `ignore` and `isFailure` are applied to it, and a `CallTimeoutError`
   * of this breaker also counts as a timeout. Returns true when it counted as a failure (false when
   * ignored, or when the permit had already settled).
   */
  failure(error: unknown): boolean;
  /** The call counts as neither (e.g. cancelled; counted in `total_ignored`); a half-open probe slot is released. */
  ignore(): void;
  /** Gives the admission back as if the call never happened: nothing is counted or emitted. */
  release(): void;
}

/**
 * A circuit breaker: the framework-free engine.
 *
 * ```ts
 * const breaker = new Breaker('payments', { failureThreshold: 3, resetTimeoutMs: 30_000 });
 * const receipt = await breaker.execute((order) => client.charge(order), order);
 * ```
 *
 * Design notes (see the README's "How it works"):
 * - No timers: OPEN → HALF_OPEN happens on the next call or any read of the state.
 * - Generations: every state change starts a new generation; an outcome from an earlier generation
 *   is counted in the totals but never moves the state. Each generation owns one pair of settle
 *   handlers, so the closed hot path attaches them to the caller's promise without a per-call closure.
 * - Rejections build their error without a stack trace.
 */
export class Breaker {
  /** The resolved options (defaults applied). */
  readonly options: ResolvedOptions;

  private readonly clock: Clock;
  private readonly logger: BreakerLogger;
  private readonly window: OutcomeWindow | null;

  private s: StateCode = CLOSED;
  private gen = 0;
  /** true while a call needs nothing but admission and the generation's settle handlers */
  private fast: boolean;
  /** true while calls must be timed (a slow-call rule, or success/failure listeners) */
  private timed: boolean;
  private onOk!: (value: unknown) => void;
  private onErr!: (error: unknown) => void;

  /** consecutive failures (no window) */
  private run = 0;
  private openUntil = 0;
  private openedAt = NaN;
  /** opens since the last close, the backoff exponent */
  private reopens = 0;
  private probes = 0;
  private probeSuccesses = 0;
  /** last admission or settle of a half-open probe */
  private halfOpenActivityAt = 0;
  private lastFailureAt = NaN;
  private lastChangeAt = NaN;

  private successes = 0;
  private failures = 0;
  private rejections = 0;
  private timeouts = 0;
  private ignored = 0;
  private slowCalls = 0;

  private transitions: Record<string, number> | null = null;
  private listeners: Listeners | null = null;
  private probeTimer: ReturnType<typeof setInterval> | null = null;
  private disposed = false;
  private sync: BreakerSync | null = null;
  /** `at` (epoch ms) of the last transition shared with or received from the fleet */
  private lastSharedAt = -Infinity;

  constructor(
    /** The breaker's name, used in errors, events, logs and metrics. */
    readonly name: string,
    options?: CircuitBreakerOptions,
    hooks?: BreakerHooks,
  ) {
    const o = resolveOptions(options);
    this.options = o;
    this.clock = o.clock;
    this.logger = hooks?.logger ?? consoleLogger;
    this.window = o.window === null ? null
      : o.window.type === 'count' ? new CountWindow(o.window.size)
      : new TimeWindow(o.window.durationMs, o.window.buckets);
    this.timed = o.slowCallDurationMs !== null;
    this.fast = this.computeFast();
    this.bindGeneration();
  }

  /** The current state. Reading it may move OPEN → HALF_OPEN (lazily, when the open period ended). */
  get state(): CircuitState {
    if (this.s !== CLOSED) this.refresh();
    return STATE_NAMES[this.s]!;
  }

  /**
   * Runs `fn(...args)` through the breaker and returns a Promise of its outcome. `fn` may be sync or
   * async. Rejects with `CircuitBreakerOpenError` without calling `fn` when the breaker does not admit
   * the call (or resolves with `fallback`'s value when one is configured).
   */
  execute<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Promise<R> {
    if (!this.fast) return this.executeSlow(fn, args);
    // The handlers of the generation the call starts in: fn itself may move the breaker.
    const onOk = this.onOk;
    const onErr = this.onErr;
    let result: R | PromiseLike<R>;
    try {
      result = fn(...args);
    } catch (error) {
      return thrown(error, onErr);
    }
    return this.adopt(result, onOk, onErr);
  }

  /**
   * `execute()` for method wrappers: calls `fn` with `thisArg` and an argument list (an `arguments`
   * object will do), sparing the rest/spread of `execute(fn, ...args)` on the hot path.
   */
  executeApply<R>(fn: (...args: never[]) => R | PromiseLike<R>, thisArg: unknown, args: ArrayLike<unknown>): Promise<R> {
    if (!this.fast) {
      return this.executeSlow((...list: unknown[]) => Reflect.apply(fn, thisArg, list) as R | PromiseLike<R>, Array.from(args));
    }
    const onOk = this.onOk;
    const onErr = this.onErr;
    let result: R | PromiseLike<R>;
    try {
      result = Reflect.apply(fn, thisArg, args);
    } catch (error) {
      return thrown(error, onErr);
    }
    return this.adopt(result, onOk, onErr);
  }

  /**
   * Asks for admission to make one call. Returns a permit to settle with the outcome, or throws
   * `CircuitBreakerOpenError` when the call is not admitted.
   */
  tryAcquire(): BreakerPermit {
    const gen = this.admit();
    if (gen < 0) throw this.openError();
    return new Permit(this, gen, this.timed ? this.clock.now() : NaN);
  }

  /**
   * Like `tryAcquire()`, but a half-open probe of a breaker attached to a shared store first waits for
   * the fleet-wide lease (at most the store's `timeoutMs`): then it returns a Promise of the permit.
   * Everywhere else it returns the permit synchronously, or throws `CircuitBreakerOpenError`.
   */
  acquire(): BreakerPermit | Promise<BreakerPermit> {
    const gen = this.admit();
    if (gen < 0) throw this.openError();
    if (this.s !== HALF_OPEN || this.sync === null) return new Permit(this, gen, this.timed ? this.clock.now() : NaN);
    return this.sync.acquireProbe(this).then((granted): BreakerPermit | Promise<BreakerPermit> => {
      if (gen !== this.gen) return this.acquire(); // the state moved while we waited: ask again
      if (granted) return new Permit(this, gen, this.timed ? this.clock.now() : NaN);
      this.denyProbe();
      throw CircuitBreakerOpenError.withoutStack(this.name, STATE_NAMES[HALF_OPEN]!, this.computeRetryAfterMs(HALF_OPEN));
    });
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends BreakerEventName>(event: E, listener: BreakerListener<E>): () => void {
    const all = (this.listeners ??= {});
    // Copy on write: an emit in progress keeps iterating the array it started with.
    (all as Record<string, unknown[]>)[event] = [...(all[event] ?? []), listener];
    this.listenersChanged();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const list = all[event] as unknown[] | undefined;
      const i = list ? list.indexOf(listener) : -1;
      if (i < 0) return;
      const next = [...list!.slice(0, i), ...list!.slice(i + 1)];
      (all as Record<string, unknown[] | undefined>)[event] = next.length > 0 ? next : undefined;
      this.listenersChanged();
    };
  }

  /** How many listeners are subscribed, to one event or to all. */
  listenerCount(event?: BreakerEventName): number {
    const all = this.listeners;
    if (all === null) return 0;
    if (event !== undefined) return all[event]?.length ?? 0;
    let n = 0;
    for (const list of Object.values(all)) n += list?.length ?? 0;
    return n;
  }

  /** Statistics with the exact keys of the wire format. Reading it may move OPEN → HALF_OPEN. */
  snapshot(): CircuitBreakerSnapshot {
    const state = this.state;
    const total = this.successes + this.failures + this.rejections;
    const o = this.options;
    let failureCount = 0;
    if (this.s === CLOSED) {
      if (this.window === null) failureCount = this.run;
      else {
        this.window.refresh(this.clock.now());
        failureCount = this.window.failures;
      }
    }
    return {
      name: this.name,
      state,
      failure_count: failureCount,
      failure_threshold: o.countRule,
      total_requests: total,
      total_successes: this.successes,
      total_failures: this.failures,
      total_rejections: this.rejections,
      total_timeouts: this.timeouts,
      total_ignored: this.ignored,
      total_slow_calls: this.slowCalls,
      success_rate: total === 0 ? 100 : percent(this.successes, total),
      rejection_rate: total === 0 ? 0 : percent(this.rejections, total),
      failure_rate: total === 0 ? 0 : percent(this.failures, total),
      // seconds, rounded up to a tenth; the key is present only while open
      ...(this.s === OPEN && { time_until_retry: Math.ceil(Math.max(0, this.openUntil - this.clock.now()) / 100) / 10 }),
      opened_at: this.isoOf(this.openedAt),
      last_failure_at: this.isoOf(this.lastFailureAt),
      last_state_change_at: this.isoOf(this.lastChangeAt),
    };
  }

  /** Milliseconds until the breaker admits calls again; 0 when it admits them now. */
  get retryAfterMs(): number {
    switch (this.s) {
      case CLOSED:
      case DISABLED:
        return 0;
      default:
        this.refresh();
        return this.computeRetryAfterMs(this.s);
    }
  }

  /** Counts of every state transition so far (never cleared, not even by `reset()`). */
  transitionCounts(): TransitionCount[] {
    const out: TransitionCount[] = [];
    for (const [key, count] of Object.entries(this.transitions ?? {})) {
      const [from, to] = key.split('>') as [CircuitState, CircuitState];
      out.push({ from, to, count });
    }
    return out;
  }

  /**
   * Back to CLOSED with the window, the totals and the backoff cleared. Calls in flight become stale
   * (their outcomes no longer count toward a decision). Returns false, and emits nothing, when there
   * was nothing to reset.
   */
  reset(): boolean {
    const neverFailedOrOpened = Number.isNaN(this.lastFailureAt) && Number.isNaN(this.openedAt);
    const dirty = this.s !== CLOSED || this.run > 0 || this.reopens > 0 || !neverFailedOrOpened
      || this.successes + this.failures + this.rejections + this.ignored > 0 || (this.window !== null && this.window.calls > 0);
    this.successes = this.failures = this.rejections = this.timeouts = this.ignored = this.slowCalls = 0;
    this.reopens = 0;
    this.lastFailureAt = NaN;
    this.openedAt = NaN;
    if (this.s !== CLOSED) this.transition(CLOSED, MANUAL_RESET);
    else this.newGeneration();
    return dirty;
  }

  /** FORCED_OPEN: rejects every call until `reset()`. Returns false when already forced open. */
  forceOpen(): boolean {
    if (this.s === FORCED_OPEN) return false;
    this.openedAt = this.clock.now();
    this.transition(FORCED_OPEN, 'forced open');
    return true;
  }

  /** DISABLED: every call passes and is counted; the state holds until `reset()`. */
  disable(): boolean {
    if (this.s === DISABLED) return false;
    this.transition(DISABLED, 'disabled');
    return true;
  }

  /** Connects the breaker to a shared store (one at a time); returns the function that detaches it. */
  attachSync(sync: BreakerSync): () => void {
    this.sync = sync;
    return () => {
      if (this.sync === sync) this.sync = null;
    };
  }

  /**
   * Applies a transition decided by another instance, without sharing it back. Stale news (older
   * than this breaker's last change) and news that changes nothing are dropped. Returns whether it
   * changed anything.
   */
  applyRemote(change: SharedTransition): boolean {
    // Our own echo and anything older than the last shared transition we know of are stale.
    if (!(change.at > this.lastSharedAt)) return false;
    this.lastSharedAt = change.at;
    const wallNow = Date.now();
    const reason = `shared: ${change.reason}`;
    switch (change.state) {
      case 'open': {
        // An open period that already ended still counts: the fleet has not closed, so this instance
        // goes OPEN and then half-open at once, probing under the fleet-wide lease.
        const remaining = (change.openUntil ?? wallNow) - wallNow;
        const now = this.clock.now();
        this.openUntil = now + Math.max(0, remaining);
        if (this.s === OPEN) return true; // same state, new end of the open period
        this.openedAt = now;
        this.transition(OPEN, reason, true);
        return true;
      }
      case 'closed':
        if (this.s === CLOSED) return false;
        this.reopens = 0;
        this.transition(CLOSED, reason, true);
        return true;
      case 'forced_open':
        if (this.s === FORCED_OPEN) return false;
        this.openedAt = this.clock.now();
        this.transition(FORCED_OPEN, reason, true);
        return true;
      case 'disabled':
        if (this.s === DISABLED) return false;
        this.transition(DISABLED, reason, true);
        return true;
      case 'reset': {
        const sync = this.sync;
        this.sync = null; // a reset received is not shared back
        try {
          return this.reset();
        } finally {
          this.sync = sync;
        }
      }
      default:
        return false;
    }
  }

  /** Stops the background probe for good (on shutdown). The breaker stays usable, without active probes. */
  dispose(): void {
    this.disposed = true;
    this.stopProbe();
  }

  // ---------------------------------------------------------------------------------------------
  // Admission

  /** Moves the state along the clock: OPEN → HALF_OPEN when due, HALF_OPEN → OPEN on a stuck probe. */
  private refresh(): void {
    if (this.s === OPEN) {
      if (this.clock.now() >= this.openUntil) this.transition(HALF_OPEN, 'reset timeout elapsed');
    } else if (this.s === HALF_OPEN && this.probes > 0) {
      const idle = this.clock.now() - this.halfOpenActivityAt;
      if (idle >= this.options.halfOpenTimeoutMs) {
        this.open(`half-open timeout: no probe settled within ${this.options.halfOpenTimeoutMs} ms`);
      }
    }
  }

  /** Returns the generation of an admitted call, or -1 for a rejected one (counted and emitted). */
  private admit(): number {
    if (this.s !== CLOSED && this.s !== DISABLED) {
      this.refresh();
      switch (this.s) {
        case OPEN:
        case FORCED_OPEN:
          return this.reject();
        case HALF_OPEN:
          if (this.probes >= this.options.halfOpenMaxCalls) return this.reject();
          this.probes++;
          this.halfOpenActivityAt = this.clock.now();
          break;
      }
    }
    return this.gen;
  }

  private reject(): -1 {
    this.rejections++;
    const list = this.listeners?.rejected;
    if (list !== undefined) this.emit(list, { name: this.name, state: STATE_NAMES[this.s]! });
    return -1;
  }

  private openError(): CircuitBreakerOpenError {
    return CircuitBreakerOpenError.withoutStack(this.name, STATE_NAMES[this.s]!, this.computeRetryAfterMs(this.s));
  }

  private computeRetryAfterMs(state: StateCode): number {
    switch (state) {
      case OPEN:
        return Math.max(0, Math.ceil(this.openUntil - this.clock.now()));
      case HALF_OPEN:
        return Math.min(HALF_OPEN_RETRY_AFTER_MS, this.options.halfOpenTimeoutMs);
      case FORCED_OPEN:
        return this.options.resetTimeoutMs;
      default:
        return 0;
    }
  }

  private executeSlow<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, args: A): Promise<R> {
    const gen = this.admit();
    if (gen < 0) return this.rejectCall(args);
    if (this.s === HALF_OPEN && this.sync !== null) {
      // A probe: ask the fleet before calling the dependency.
      return this.sync.acquireProbe(this).then((granted) => {
        if (gen !== this.gen) return this.executeSlow(fn, args); // the state moved while we waited: ask again
        if (granted) return this.invoke(gen, fn, args);
        this.denyProbe();
        return this.rejectCall(args, HALF_OPEN);
      });
    }
    return this.invoke(gen, fn, args);
  }

  /** The fleet refused a probe admitted locally: give the slot back and count a rejection. */
  private denyProbe(): void {
    this.probes--;
    this.reject();
  }

  private rejectCall<R>(args: unknown[], state: StateCode = this.s): Promise<R> {
    const fallback = this.options.fallback;
    const error = CircuitBreakerOpenError.withoutStack(this.name, STATE_NAMES[state]!, this.computeRetryAfterMs(state));
    return fallback === null ? rejectSoon(error) : this.runFallback(fallback, error, args);
  }

  private invoke<A extends unknown[], R>(gen: number, fn: (...args: A) => R | PromiseLike<R>, args: A): Promise<R> {
    const fallback = this.options.fallback;
    const start = this.timed ? this.clock.now() : NaN;
    const timeoutMs = this.options.callTimeoutMs;
    let result: R | PromiseLike<R>;
    try {
      result = fn(...args);
    } catch (error) {
      const failed = this.settleError(gen, error, start);
      return failed && fallback !== null ? this.runFallback(fallback, error, args) : Promise.reject(error);
    }
    if (timeoutMs !== null && isThenable(result)) return this.withTimeout(gen, start, result, timeoutMs, args);
    if (fallback === null && start !== start && gen === this.gen) {
      // No per-call data: the generation's own handlers will do.
      return this.settleSyncResult(result, this.onOk, this.onErr);
    }
    const onOk = (value: unknown) => this.settleValue(gen, value, start);
    if (!isThenable(result)) {
      onOk(result);
      return Promise.resolve(result);
    }
    return Promise.resolve(result).then(
      (value) => {
        onOk(value);
        return value;
      },
      (error: unknown) => {
        const failed = this.settleError(gen, error, start);
        if (failed && fallback !== null) return this.runFallback(fallback, error, args);
        throw error;
      },
    );
  }

  /** The fast path's outcome: fn's own promise with its generation's handlers attached, or a sync value settled now. */
  private adopt<R>(result: R | PromiseLike<R>, onOk: (value: unknown) => void, onErr: (error: unknown) => void): Promise<R> {
    if (result instanceof Promise) {
      // The caller gets fn's own promise: our handlers run first (registered first), no extra hop.
      result.then(onOk, onErr);
      return result;
    }
    return this.settleSyncResult(result, onOk, onErr);
  }

  private settleSyncResult<R>(result: R | PromiseLike<R>, onOk: (v: unknown) => void, onErr: (e: unknown) => void): Promise<R> {
    if (isThenable(result)) {
      // A foreign thenable: adopt it so that its outcome (even a throwing `then`) is observed once.
      const adopted: Promise<R> = Promise.resolve(result);
      adopted.then(onOk, onErr);
      return adopted;
    }
    onOk(result);
    return Promise.resolve(result);
  }

  private withTimeout<A extends unknown[], R>(gen: number, start: number, result: PromiseLike<R>, timeoutMs: number, args: A): Promise<R> {
    const fallback = this.options.fallback;
    return new Promise<R>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        const error = new CallTimeoutError(this.name, timeoutMs);
        this.settleError(gen, error, start); // counts a timeout and a failure
        if (fallback !== null) this.runFallback<R>(fallback, error, args).then(resolve, reject);
        else reject(error);
      }, timeoutMs);
      timer.unref?.();
      Promise.resolve(result).then(
        (value) => {
          if (done) return; // already counted as a timeout
          done = true;
          clearTimeout(timer);
          this.settleValue(gen, value, start);
          resolve(value);
        },
        (error: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const failed = this.settleError(gen, error, start);
          if (failed && fallback !== null) this.runFallback<R>(fallback, error, args).then(resolve, reject);
          else reject(error);
        },
      );
    });
  }

  private runFallback<R>(fallback: (error: unknown, ...args: never[]) => unknown, error: unknown, args: unknown[]): Promise<R> {
    try {
      return Promise.resolve(fallback(error, ...(args as never[])) as R);
    } catch (fallbackError) {
      return Promise.reject(fallbackError);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Outcomes

  /** Settles a returned value: a success, or a failure when `isFailureResult` says so. */
  /** @internal */
  settleValue(gen: number, value: unknown, start: number): void {
    const isFailureResult = this.options.isFailureResult;
    if (isFailureResult !== null && this.predicate(isFailureResult, value, 'isFailureResult')) {
      this.recordFailure(gen, value, start);
    } else {
      this.recordSuccess(gen, start);
    }
  }

  /** Settles a thrown error: a failure, or ignored. Returns true when it counted as a failure. */
  /** @internal */
  settleError(gen: number, error: unknown, start: number): boolean {
    if (error instanceof CallTimeoutError && error.breakerName === this.name) {
      this.timeouts++;
      const list = this.listeners?.timeout;
      if (list !== undefined) this.emit(list, { name: this.name, timeoutMs: error.timeoutMs });
    } else if (this.isIgnored(error)) {
      this.recordIgnored(gen, error);
      return false;
    }
    this.recordFailure(gen, error, start);
    return true;
  }

  private isIgnored(error: unknown): boolean {
    const o = this.options;
    for (let i = 0; i < o.ignore.length; i++) if (error instanceof o.ignore[i]!) return true;
    // A throwing isFailure counts the error as a failure: the safe side for a breaker.
    return o.isFailure !== null && !this.predicate(o.isFailure, error, 'isFailure', true);
  }

  private predicate(fn: (value: unknown) => boolean, value: unknown, what: string, onThrow = false): boolean {
    try {
      return Boolean(fn(value));
    } catch (error) {
      this.logger.error(`Circuit breaker '${this.name}': ${what} threw; treating the outcome as ${onThrow ? 'a failure' : 'a success'}`, error);
      return onThrow;
    }
  }

  /** @internal */
  recordSuccess(gen: number, start: number): void {
    this.successes++;
    let now = NaN;
    let slow = false;
    if (start === start) {
      now = this.clock.now();
      const limit = this.options.slowCallDurationMs;
      if (limit !== null && now - start > limit) {
        slow = true;
        this.slowCalls++;
      }
    }
    if (gen === this.gen) {
      if (this.s === CLOSED) {
        if (this.window === null) this.run = 0;
        else {
          this.window.record(now === now || !this.window.timed ? now : this.clock.now(), false, slow);
          if (slow) this.evaluateWindow();
        }
      } else if (this.s === HALF_OPEN) {
        this.probes--;
        this.halfOpenActivityAt = now === now ? now : this.clock.now();
        if (++this.probeSuccesses >= this.options.successThreshold) {
          this.reopens = 0;
          this.transition(CLOSED, `probe succeeded: ${this.probeSuccesses}/${this.options.successThreshold}`);
        } else {
          this.sync?.releaseProbe(this); // the next probe may run anywhere in the fleet
        }
      }
    }
    const list = this.listeners?.success;
    if (list !== undefined) this.emit(list, { name: this.name, durationMs: now - start });
  }

  /** @internal */
  recordFailure(gen: number, error: unknown, start: number): void {
    this.failures++;
    const now = this.clock.now();
    this.lastFailureAt = now;
    let slow = false;
    const limit = this.options.slowCallDurationMs;
    if (limit !== null && start === start && now - start > limit) {
      slow = true;
      this.slowCalls++;
    }
    if (gen === this.gen) {
      if (this.s === CLOSED) {
        if (this.window === null) {
          if (++this.run >= this.options.failureThreshold) {
            this.open(`threshold reached: ${this.run}/${this.options.failureThreshold}`);
          }
        } else {
          this.window.record(now, true, slow);
          this.evaluateWindow();
        }
      } else if (this.s === HALF_OPEN) {
        this.probes--;
        this.open('probe failed');
      }
    }
    const list = this.listeners?.failure;
    if (list !== undefined) this.emit(list, { name: this.name, error, durationMs: now - start });
  }

  /** @internal */
  recordIgnored(gen: number, error: unknown): void {
    this.ignored++;
    this.releaseSlot(gen);
    const list = this.listeners?.ignored;
    if (list !== undefined) this.emit(list, { name: this.name, error });
  }

  /** @internal gives a half-open probe slot (and its fleet lease) back */
  releaseSlot(gen: number): void {
    if (gen === this.gen && this.s === HALF_OPEN) {
      this.probes--;
      this.sync?.releaseProbe(this);
    }
  }

  private evaluateWindow(): void {
    const w = this.window!;
    const o = this.options;
    if (o.countRule !== null && w.failures >= o.countRule) {
      this.open(`threshold reached: ${w.failures}/${o.countRule} in window`);
      return;
    }
    if (w.calls < o.minimumCalls) return;
    if (o.failureRateThreshold !== null) {
      const rate = (w.failures / w.calls) * 100;
      if (rate >= o.failureRateThreshold) {
        this.open(`failure rate ${rate.toFixed(1)}% >= ${o.failureRateThreshold}% over ${w.calls} calls`);
        return;
      }
    }
    if (o.slowCallRateThreshold !== null) {
      const rate = (w.slow / w.calls) * 100;
      if (rate >= o.slowCallRateThreshold) {
        this.open(`slow call rate ${rate.toFixed(1)}% >= ${o.slowCallRateThreshold}% over ${w.calls} calls`);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Transitions

  /** Opens for a full (possibly backed-off, jittered) open period. */
  private open(reason: string): void {
    const o = this.options;
    let duration = o.resetTimeoutMs;
    if (o.backoff !== null) {
      duration = Math.min(duration * o.backoff.multiplier ** this.reopens, o.backoff.maxMs);
      if (o.backoff.jitter > 0) duration *= 1 - o.backoff.jitter * Math.random();
    }
    this.reopens++;
    const now = this.clock.now();
    this.openedAt = now;
    this.openUntil = now + duration;
    this.transition(OPEN, reason);
  }

  private transition(to: StateCode, reason: string, remote = false): void {
    const from = this.s;
    this.s = to;
    this.newGeneration();
    this.lastChangeAt = this.clock.now();
    const key = `${STATE_NAMES[from]}>${STATE_NAMES[to]}`;
    const counts = (this.transitions ??= {});
    counts[key] = (counts[key] ?? 0) + 1;
    if (to === OPEN) this.startProbe();
    else if (from === OPEN) this.stopProbe();
    // HALF_OPEN is not shared: every instance reaches it on its own from the shared `openUntil`.
    if (this.sync !== null && !remote && to !== HALF_OPEN) {
      const at = Math.max(Date.now(), this.lastSharedAt + 1); // strictly after anything shared before
      this.lastSharedAt = at;
      this.sync.publish(this, {
        state: reason === MANUAL_RESET ? 'reset' : (STATE_NAMES[to] as SharedTransition['state']),
        openUntil: to === OPEN ? at + (this.openUntil - this.clock.now()) : undefined,
        reason,
        at,
      });
    }
    const list = this.listeners?.stateChange;
    if (list !== undefined) {
      this.emit(list, { name: this.name, from: STATE_NAMES[from]!, to: STATE_NAMES[to]!, reason, at: new Date().toISOString() });
    }
  }

  /** Starts a generation: earlier calls become stale; counts and window start empty. */
  private newGeneration(): void {
    this.gen++;
    this.run = 0;
    this.probes = 0;
    this.probeSuccesses = 0;
    this.halfOpenActivityAt = this.s === HALF_OPEN ? this.clock.now() : 0;
    this.window?.clear();
    this.fast = this.computeFast();
    this.bindGeneration();
  }

  private bindGeneration(): void {
    const gen = this.gen;
    this.onOk = (value) => this.settleValue(gen, value, NaN);
    this.onErr = (error) => {
      this.settleError(gen, error, NaN);
    };
  }

  private computeFast(): boolean {
    const o = this.options;
    return (this.s === CLOSED || this.s === DISABLED) && !this.timed && o.fallback === null && o.callTimeoutMs === null;
  }

  private listenersChanged(): void {
    const all = this.listeners;
    this.timed = this.options.slowCallDurationMs !== null || all?.success !== undefined || all?.failure !== undefined;
    this.fast = this.computeFast();
  }

  // ---------------------------------------------------------------------------------------------
  // Active probe (opt-in): one unref'd interval while OPEN.

  private startProbe(): void {
    const probe = this.options.probe;
    if (probe === null || this.probeTimer !== null || this.disposed) return;
    const gen = this.gen;
    let running = false; // per open period: a probe that never settles cannot block the next period
    const timer = setInterval(() => {
      if (running) return;
      this.refresh();
      if (this.s !== OPEN || this.gen !== gen) {
        if (this.probeTimer === timer) this.stopProbe();
        return;
      }
      running = true;
      let outcome: Promise<unknown>;
      try {
        outcome = Promise.resolve(probe.fn());
      } catch (error) {
        outcome = Promise.reject(error);
      }
      outcome.then(
        () => {
          running = false;
          // Only if this open period is still the current one and nobody stopped the probe meanwhile.
          if (this.probeTimer === timer && this.s === OPEN && this.gen === gen) this.transition(HALF_OPEN, 'active probe succeeded');
        },
        () => {
          running = false;
        },
      );
    }, probe.intervalMs);
    timer.unref?.();
    this.probeTimer = timer;
  }

  private stopProbe(): void {
    if (this.probeTimer === null) return;
    clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  // ---------------------------------------------------------------------------------------------

  private emit<E extends BreakerEventName>(list: BreakerListener<E>[], event: BreakerEventMap[E]): void {
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(event);
      } catch (error) {
        this.logger.error(`Circuit breaker '${this.name}': a listener threw; the call and the state are unaffected`, error);
      }
    }
  }

  private isoOf(mono: number): string | null {
    if (mono !== mono) return null;
    return new Date(Date.now() - (this.clock.now() - mono)).toISOString();
  }

}

class Permit implements BreakerPermit {
  private settled = false;

  constructor(
    private readonly breaker: Breaker,
    private readonly gen: number,
    private readonly start: number,
  ) {}

  success(value?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (arguments.length > 0) this.breaker.settleValue(this.gen, value, this.start);
    else this.breaker.recordSuccess(this.gen, this.start);
  }

  failure(error: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    return this.breaker.settleError(this.gen, error, this.start);
  }

  ignore(): void {
    if (this.settled) return;
    this.settled = true;
    this.breaker.recordIgnored(this.gen, undefined);
  }

  release(): void {
    if (this.settled) return;
    this.settled = true;
    this.breaker.releaseSlot(this.gen);
  }
}

/**
 * A promise that rejects one microtask later, once the caller has attached its handler: a promise
 * rejected with no handler yet goes through Node's unhandled-rejection bookkeeping (about 0.7 µs),
 * which the OPEN path, taken by all traffic during an outage, should not pay.
 */
function rejectSoon<T>(error: unknown): Promise<T> {
  // A promise job rather than queueMicrotask: fake-timer libraries replace queueMicrotask, and a
  // rejection must not wait for a test's fake clock.
  return new Promise<T>((_, reject) => {
    RESOLVED.then(() => reject(error));
  });
}
const RESOLVED = Promise.resolve();

/** The fast path's synchronous throw from fn: counted in the call's generation, then rejected as it is. */
function thrown(error: unknown, onErr: (error: unknown) => void): Promise<never> {
  onErr(error);
  return Promise.reject(error);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}
