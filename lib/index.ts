// The public API of `nestjs-circuit-breaker`: explicit named exports only. test/packaging pins the list
// of runtime names, so that growing it is a decision. Store plumbing lives in `nestjs-circuit-breaker/store`.

// The NestJS module, its options and the environment configuration
export { CircuitBreakerModule } from './module/circuit-breaker.module.js';
export type {
  CircuitBreakerConfigEntry,
  CircuitBreakerManagementOptions,
  CircuitBreakerModuleOptions,
} from './options/module-options.interface.js';
export { circuitBreakerConfigFromEnv } from './options/env.config.js';

// Decorators
export { CircuitBreaker } from './decorators/circuit-breaker.decorator.js';
export type { CircuitBreakerDecoratorOptions } from './decorators/layers.js';
export { getCircuitBreakerToken, InjectCircuitBreaker } from './decorators/inject-circuit-breaker.decorator.js';
export { Retry } from './decorators/retry.decorator.js';

// The registry, the interceptor and the exception filter
export {
  CircuitBreakerRegistry,
  type CircuitBreakerFleetHealth,
  type CircuitBreakerRegistryEvent,
  type CircuitBreakerRegistrySnapshot,
} from './registry/circuit-breaker.registry.js';
export { CircuitBreakerInterceptor } from './interceptors/circuit-breaker.interceptor.js';
export { CircuitBreakerExceptionFilter } from './interceptors/circuit-breaker-exception.filter.js';

// HTTP dependencies: a downstream 4xx is the caller's fault, not the dependency's (isFailure / isFailureResult)
export { isDependencyFailure, isDependencyFailureResponse } from './http/http-failure.js';

// The event stream and the dashboard page of the management API, for routes of your own
export { circuitBreakerEventStream, type CircuitBreakerEventStreamOptions } from './management/event-stream.js';
export { DASHBOARD_CONTENT_SECURITY_POLICY, type DashboardPageOptions, renderDashboard } from './management/dashboard.page.js';

// The engine
export { Breaker, type BreakerHooks, type BreakerPermit, type TransitionCount } from './core/breaker.js';
export { CircuitState } from './core/circuit-state.js';
export type { Clock } from './core/clock.js';
export { executeWithFallback, FallbackChain, type FallbackTier } from './core/fallback-chain.js';
export { retry, type RetryOptions, RetryPolicy } from './core/retry.js';
export type {
  BackoffOptions,
  CircuitBreakerOptions,
  CountWindowOptions,
  ErrorClass,
  ProbeOptions,
  ResolvedOptions,
  TimeWindowOptions,
  WindowOptions,
} from './core/options.js';
export type { CircuitBreakerSnapshot } from './core/snapshot.js';
export type { CircuitBreakerStore } from './store/store.interface.js';

// Errors
export {
  CallTimeoutError,
  CircuitBreakerConfigError,
  CircuitBreakerError,
  CircuitBreakerOpenError,
  type ConfigProblem,
  isCircuitBreakerOpenError,
} from './core/errors.js';
export { AllTiersFailedError, RetryExhaustedError } from './core/composition-errors.js';
export { CircuitBreakerLimitError, CircuitBreakerNameError } from './registry/registry.errors.js';

// Events
export type {
  BreakerEventMap,
  BreakerEventName,
  BreakerListener,
  BreakerLogger,
  FailureEvent,
  FallbackEvent,
  IgnoredEvent,
  RejectedEvent,
  StateChangeEvent,
  SuccessEvent,
  TimeoutEvent,
} from './core/events.js';
