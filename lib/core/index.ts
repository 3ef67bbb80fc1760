export { Breaker, type BreakerHooks, type BreakerPermit, type BreakerSync, type SharedTransition, type TransitionCount } from './breaker.js';
export { CircuitState, CIRCUIT_STATES } from './circuit-state.js';
export { type Clock, monotonicClock } from './clock.js';
export {
  CallTimeoutError,
  CircuitBreakerConfigError,
  CircuitBreakerError,
  CircuitBreakerOpenError,
  type ConfigProblem,
} from './errors.js';
export {
  BREAKER_EVENT_NAMES,
  type BreakerEventMap,
  type BreakerEventName,
  type BreakerListener,
  type BreakerLogger,
  type FailureEvent,
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
export {
  checkStoreOptions,
  type CircuitBreakerStore,
  decodeStoreMessage,
  decodeTransition,
  encodeStoreMessage,
  encodeTransition,
  InMemoryCircuitBreakerStore,
  type InMemoryCircuitBreakerStoreOptions,
  InMemoryStoreBackend,
  SharedStateStore,
  type SharedStateStoreOptions,
  type SharedStoreMessage,
  type StoreLogger,
} from './store.js';
