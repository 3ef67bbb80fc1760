import { CircuitState } from './circuit-state.js';
import type { Clock } from './clock.js';
import { monotonicClock } from './clock.js';
import { COARSE_MIN_BUCKET_MS, coarseMonotonicClock } from './coarse-clock.js';
import { CallTimeoutError, CircuitBreakerOpenError } from './errors.js';
import type { BreakerEventName, BreakerListener, BreakerLogger } from './events.js';
import { addListener, countListeners, emit, type ListenerMap } from './listeners.js';
import type { ResolvedOptions } from './options.js';
import { CountWindow, type OutcomeWindow, TimeWindow } from './outcome-window.js';
import { type CircuitBreakerSnapshot, percent } from './snapshot.js';

import {
  CLOSED, DISABLED, FORCED_OPEN, HALF_OPEN, MANUAL_RESET, OPEN, STATE_NAMES,
  type StateCode, type StateMachineHooks, type TransitionCount, type TransitionOrigin,
} from './state-codes.js';

export {
  CLOSED, DISABLED, FORCED_OPEN, HALF_OPEN, MANUAL_RESET, OPEN, STATE_NAMES,
  type StateCode, type StateMachineHooks, type TransitionCount, type TransitionOrigin,
} from './state-codes.js';
/** Suggested retry delay for a caller rejected because every half-open probe slot is taken. */
const HALF_OPEN_RETRY_AFTER_MS = 1_000;

/**
 * The circuit breaker's state machine: admission, recording of outcomes, the trip rules and their
 * windows, transitions and generations. It knows nothing of permits, timers, stores or how a call is
 * made; `Breaker` is the public front that puts those around it.
 *
 * Generations: every state change starts a new one. An outcome from an earlier generation is counted
 * in the totals but never moves the state. Each generation owns one pair of settle handlers
 * (`onOk`/`onErr`), so the closed hot path attaches them to a caller's promise without a per-call closure.
 * They are made at the generation's first lean call (`goLean`), so an idle breaker holds none.
 */
export class CircuitStateMachine {
  readonly clock: Clock;
  s: StateCode = CLOSED;
  gen = 0;
  /**
   * true while a call needs nothing but admission and the generation's settle handlers, and those
   * are made; false until then (`goLean` makes them)
   */
  fast = false;
  /** whether calls may take the lean path at all (state, options and listeners allow it) */
  private lean: boolean;
  /** true while calls must be timed (a slow-call rule, or success/failure listeners) */
  timed: boolean;
  onOk!: (value: unknown) => void;
  onErr!: (error: unknown) => void;
  /** when the current open period ends (monotonic ms) */
  openUntil = 0;
  hooks: StateMachineHooks | null = null;

  private readonly window: OutcomeWindow | null;
  /** what a time window's successes read: the process-wide coarse clock when its buckets allow */
  private readonly windowClock: Clock;
  /** consecutive failures (no window) */
  private run = 0;
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
  private listeners: ListenerMap | null = null;

  constructor(
    readonly name: string,
    readonly options: ResolvedOptions,
    readonly logger: BreakerLogger,
  ) {
    this.clock = options.clock;
    const w = options.window;
    this.window = w === null ? null : w.type === 'count' ? new CountWindow(w.size) : new TimeWindow(w.durationMs, w.buckets);
    this.windowClock = w?.type === 'time' && this.clock === monotonicClock && w.durationMs / w.buckets >= COARSE_MIN_BUCKET_MS
      ? coarseMonotonicClock
      : this.clock;
    this.timed = options.slowCallDurationMs !== null;
    this.lean = this.computeLean();
  }

  /**
   * Makes the current generation's settle handlers when calls may take the lean path; returns
   * whether they may (then `fast` is true until the next generation or listener change).
   */
  goLean(): boolean {
    if (!this.lean) return false;
    const gen = this.gen;
    this.onOk = (value) => this.settleValue(gen, value, NaN);
    this.onErr = (error) => {
      this.settleError(gen, error, NaN);
    };
    this.fast = true;
    return true;
  }

  /** The state, after moving it along the clock. */
  get state(): CircuitState {
    if (this.s !== CLOSED) this.refresh();
    return STATE_NAMES[this.s]!;
  }

  get isOpen(): boolean {
    return this.s === OPEN;
  }

  /** Whether an admitted call is a half-open probe. */
  get probing(): boolean {
    return this.s === HALF_OPEN;
  }

  /** A call's start time when calls are timed, else NaN (no clock read). */
  startTime(): number {
    return this.timed ? this.clock.now() : NaN;
  }

  // ---------------------------------------------------------------------------------------------
  // Admission

  /** Moves the state along the clock: OPEN → HALF_OPEN when due, HALF_OPEN → OPEN on a stuck probe. */
  refresh(): void {
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
  admit(): number {
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

  /** A half-open probe admitted locally was refused by the fleet: its slot is given back, a rejection counted. */
  denyProbe(): void {
    this.probes--;
    this.reject();
  }

  /** The error for a call rejected now (the breaker's state, and when to retry). */
  openError(): CircuitBreakerOpenError {
    return CircuitBreakerOpenError.withoutStack(this.name, STATE_NAMES[this.s]!, this.retryAfterMs());
  }

  /** Milliseconds until calls are admitted again, in the current state (no refresh). */
  retryAfterMs(): number {
    switch (this.s) {
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

  private reject(): -1 {
    this.rejections++;
    const list = this.listeners?.rejected;
    if (list !== undefined) emit(list, { name: this.name, state: STATE_NAMES[this.s]! }, this.logger, this.name);
    return -1;
  }

  fellBack(error: unknown): void {
    const list = this.listeners?.fallback;
    if (list !== undefined) emit(list, { name: this.name, state: STATE_NAMES[this.s]!, error }, this.logger, this.name);
  }

  // ---------------------------------------------------------------------------------------------
  // Outcomes

  /** Settles a returned value: a success, or a failure when `isFailureResult` says so. */
  settleValue(gen: number, value: unknown, start: number): void {
    const isFailureResult = this.options.isFailureResult;
    if (isFailureResult !== null && this.predicate(isFailureResult, value, 'isFailureResult')) {
      this.recordFailure(gen, value, start);
    } else {
      this.recordSuccess(gen, start);
    }
  }

  /** Settles a thrown error: a failure, or ignored. Returns true when it counted as a failure. */
  settleError(gen: number, error: unknown, start: number): boolean {
    if (error instanceof CallTimeoutError && error.breakerName === this.name) {
      this.timeouts++;
      const list = this.listeners?.timeout;
      if (list !== undefined) emit(list, { name: this.name, timeoutMs: error.timeoutMs }, this.logger, this.name);
    } else if (this.isIgnored(error)) {
      this.recordIgnored(gen, error);
      return false;
    }
    this.recordFailure(gen, error, start);
    return true;
  }

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
          this.window.record(now === now || !this.window.timed ? now : this.windowClock.now(), false, slow);
          if (slow) this.evaluateWindow();
        }
      } else if (this.s === HALF_OPEN) {
        this.probes--;
        this.halfOpenActivityAt = now === now ? now : this.clock.now();
        if (++this.probeSuccesses >= this.options.successThreshold) {
          this.reopens = 0;
          this.transition(CLOSED, `probe succeeded: ${this.probeSuccesses}/${this.options.successThreshold}`);
        } else {
          this.hooks?.slotReleased();
        }
      }
    }
    const list = this.listeners?.success;
    if (list !== undefined) emit(list, { name: this.name, durationMs: now - start }, this.logger, this.name);
  }

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
    if (list !== undefined) emit(list, { name: this.name, error, durationMs: now - start }, this.logger, this.name);
  }

  recordIgnored(gen: number, error: unknown): void {
    this.ignored++;
    this.releaseSlot(gen);
    const list = this.listeners?.ignored;
    if (list !== undefined) emit(list, { name: this.name, error }, this.logger, this.name);
  }

  /** Gives a half-open probe slot (and its fleet lease) back. */
  releaseSlot(gen: number): void {
    if (gen === this.gen && this.s === HALF_OPEN) {
      this.probes--;
      this.hooks?.slotReleased();
    }
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
  open(reason: string): void {
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

  /** OPEN until `remainingMs` from now, as another instance decided (an ended period opens and half-opens at once). */
  openFor(remainingMs: number, reason: string, origin: TransitionOrigin): void {
    const now = this.clock.now();
    this.openUntil = now + Math.max(0, remainingMs);
    if (this.s === OPEN) return; // same state, new end of the open period
    this.openedAt = now;
    this.transition(OPEN, reason, origin);
  }

  /** OPEN → HALF_OPEN before the open period ends (the active probe's check passed). */
  halfOpen(reason: string): void {
    this.transition(HALF_OPEN, reason);
  }

  /** Moves to CLOSED (clearing the backoff), FORCED_OPEN or DISABLED; false when already there. */
  moveTo(to: typeof CLOSED | typeof FORCED_OPEN | typeof DISABLED, reason: string, origin: TransitionOrigin = 'local'): boolean {
    if (this.s === to) return false;
    if (to === CLOSED) this.reopens = 0;
    if (to === FORCED_OPEN) this.openedAt = this.clock.now();
    this.transition(to, reason, origin);
    return true;
  }

  /**
   * Back to CLOSED with the window, the totals and the backoff cleared; calls in flight become stale.
   * Returns false, and emits nothing, when there was nothing to reset.
   */
  reset(origin: TransitionOrigin = 'local'): boolean {
    const neverFailedOrOpened = Number.isNaN(this.lastFailureAt) && Number.isNaN(this.openedAt);
    const dirty = this.s !== CLOSED || this.run > 0 || this.reopens > 0 || !neverFailedOrOpened
      || this.successes + this.failures + this.rejections + this.ignored > 0 || (this.window !== null && this.window.calls > 0);
    this.successes = this.failures = this.rejections = this.timeouts = this.ignored = this.slowCalls = 0;
    this.reopens = 0;
    this.lastFailureAt = NaN;
    this.openedAt = NaN;
    if (this.s !== CLOSED) this.transition(CLOSED, MANUAL_RESET, origin);
    else this.newGeneration();
    return dirty;
  }

  private transition(to: StateCode, reason: string, origin: TransitionOrigin = 'local'): void {
    const from = this.s;
    this.s = to;
    this.newGeneration();
    this.lastChangeAt = this.clock.now();
    const key = `${STATE_NAMES[from]}>${STATE_NAMES[to]}`;
    const counts = (this.transitions ??= {});
    counts[key] = (counts[key] ?? 0) + 1;
    this.hooks?.transitioned(from, to, reason, origin);
    const list = this.listeners?.stateChange;
    if (list !== undefined) {
      emit(list, { name: this.name, from: STATE_NAMES[from]!, to: STATE_NAMES[to]!, reason, at: new Date().toISOString() }, this.logger, this.name);
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
    this.lean = this.computeLean();
    this.fast = false; // this generation's handlers are made by its first lean call
  }

  private computeLean(): boolean {
    const o = this.options;
    return (this.s === CLOSED || this.s === DISABLED) && !this.timed && o.fallback === null && o.callTimeoutMs === null;
  }

  // ---------------------------------------------------------------------------------------------
  // Listeners and statistics

  on<E extends BreakerEventName>(event: E, listener: BreakerListener<E>): () => void {
    return addListener((this.listeners ??= {}), event, listener, () => this.listenersChanged());
  }

  listenerCount(event?: BreakerEventName): number {
    return countListeners(this.listeners, event);
  }

  private listenersChanged(): void {
    const all = this.listeners;
    this.timed = this.options.slowCallDurationMs !== null || all?.success !== undefined || all?.failure !== undefined;
    this.lean = this.computeLean();
    if (!this.lean) this.fast = false;
  }

  transitionCounts(): TransitionCount[] {
    const out: TransitionCount[] = [];
    for (const [key, count] of Object.entries(this.transitions ?? {})) {
      const [from, to] = key.split('>') as [CircuitState, CircuitState];
      out.push({ from, to, count });
    }
    return out;
  }

  snapshot(): CircuitBreakerSnapshot {
    const state = this.state;
    const total = this.successes + this.failures + this.rejections;
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
      failure_threshold: this.options.countRule,
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

  private isoOf(mono: number): string | null {
    if (mono !== mono) return null;
    return new Date(Date.now() - (this.clock.now() - mono)).toISOString();
  }
}
