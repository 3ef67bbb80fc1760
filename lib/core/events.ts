import type { CircuitState } from './circuit-state.js';

export interface StateChangeEvent {
  name: string;
  from: CircuitState;
  to: CircuitState;
  /** why, e.g. `threshold reached: 3/3`, `reset timeout elapsed`, `manual reset` */
  reason: string;
  /** ISO-8601 wall-clock time of the change */
  at: string;
}

export interface SuccessEvent {
  name: string;
  /** NaN for a call admitted before the first success/failure listener was attached */
  durationMs: number;
}

export interface FailureEvent {
  name: string;
  /** the error, or the value for which `isFailureResult` returned true */
  error: unknown;
  durationMs: number;
}

export interface RejectedEvent {
  name: string;
  state: CircuitState;
}

export interface TimeoutEvent {
  name: string;
  timeoutMs: number;
}

/** A call site's fallback is about to run: the call was rejected, timed out or failed. */
export interface FallbackEvent {
  name: string;
  /** the breaker's state when the fallback runs (`open`, `forced_open`, `half_open` for a rejection) */
  state: CircuitState;
  /** what the fallback gets: the open error, the timeout or the failure */
  error: unknown;
}

export interface IgnoredEvent {
  name: string;
  error: unknown;
}

/** The events a breaker emits, by name. */
export interface BreakerEventMap {
  stateChange: StateChangeEvent;
  success: SuccessEvent;
  failure: FailureEvent;
  rejected: RejectedEvent;
  timeout: TimeoutEvent;
  ignored: IgnoredEvent;
  fallback: FallbackEvent;
}

export type BreakerEventName = keyof BreakerEventMap;

export const BREAKER_EVENT_NAMES: readonly BreakerEventName[] = ['stateChange', 'success', 'failure', 'rejected', 'timeout', 'ignored', 'fallback'];

export type BreakerListener<E extends BreakerEventName> = (event: BreakerEventMap[E]) => void;

/** Where a breaker reports listener errors and other problems it must not throw. */
export interface BreakerLogger {
  error(message: string, error?: unknown): void;
  warn(message: string): void;
}

export const consoleLogger: BreakerLogger = Object.freeze({
  error: (message: string, error?: unknown) => console.error(message, error ?? ''),
  warn: (message: string) => console.warn(message),
});
