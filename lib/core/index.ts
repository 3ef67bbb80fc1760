export { Breaker, type BreakerHooks, type BreakerSync, guardedCallOf } from './breaker.js';
export { type CallFallback, GuardedCall, optionsFallback, startCallTimer } from './guarded-call.js';
export { guardedObservable, toObservable } from './guarded-observable.js';
export { isObject, isRecord, isThenable } from './guards.js';
export type { BreakerPermit } from './permit.js';
export type { SharedTransition } from './remote-sync.js';
export type { TransitionCount } from './state-machine.js';
export { CircuitState, CIRCUIT_STATES } from './circuit-state.js';
export { type Clock, monotonicClock } from './clock.js';
export {
  CallTimeoutError,
  CircuitBreakerConfigError,
  CircuitBreakerError,
  CircuitBreakerOpenError,
  type ConfigProblem,
  isCircuitBreakerOpenError,
} from './errors.js';
export {
  BREAKER_EVENT_NAMES,
  type BreakerEventMap,
  type BreakerEventName,
  type BreakerListener,
  type BreakerLogger,
  type FailureEvent,
  type FallbackEvent,
  type IgnoredEvent,
  type RejectedEvent,
  type StateChangeEvent,
  type SuccessEvent,
  type TimeoutEvent,
} from './events.js';
export {
  type BackoffOptions,
  type CircuitBreakerOptions,
  CIRCUIT_BREAKER_OPTION_KEYS,
  type CountWindowOptions,
  type ErrorClass,
  type ProbeOptions,
  type ResolvedOptions,
  resolveOptions,
  type TimeWindowOptions,
  validateCircuitBreakerOptions,
  type WindowOptions,
} from './options.js';
export { type CircuitBreakerSnapshot } from './snapshot.js';
export { AllTiersFailedError, RetryExhaustedError } from './composition-errors.js';
export { executeWithFallback, FallbackChain, type FallbackTier, validateFallbackTiers } from './fallback-chain.js';
export {
  DEFAULT_RETRY_OPTIONS,
  type ResolvedRetryOptions,
  resolveRetryOptions,
  retry,
  type RetryHooks,
  type RetryOptions,
  RetryPolicy,
  validateRetryOptions,
} from './retry.js';
export { describeStoreError, errorKind, redactCredentials, safeOptionValue } from './redaction.js';
