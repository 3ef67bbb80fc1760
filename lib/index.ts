// The public barrel of `nestjs-circuit-breaker`: explicit named exports only.
export * from './core/index.js';
export { Retry, type RetryLayer } from './decorators/retry.decorator.js';
// NestJS integration: module, options, env config, registry, decorators, interceptor, error mapping.
export {
  CIRCUIT_BREAKER_LAYERS,
  CIRCUIT_BREAKER_MODULE_OPTIONS,
} from './constants.js';
export {
  type CircuitBreakerConfigEntry,
  type CircuitBreakerManagementOptions,
  type CircuitBreakerModuleExtras,
  type CircuitBreakerModuleOptions,
  type ResolvedCircuitBreakerModuleOptions,
  type ResolvedManagementOptions,
} from './module/circuit-breaker-module-options.interface.js';
export { CircuitBreakerModule } from './module/circuit-breaker.module.js';
export { circuitBreakerConfigFromEnv } from './module/env.config.js';
export {
  CircuitBreakerRegistry,
  type CircuitBreakerFleetHealth,
  type CircuitBreakerRegistryEvent,
  type CircuitBreakerRegistrySnapshot,
} from './registry/circuit-breaker.registry.js';
export { CircuitBreaker } from './decorators/circuit-breaker.decorator.js';
export { getCircuitBreakerToken, InjectCircuitBreaker } from './decorators/inject-circuit-breaker.decorator.js';
export { type BreakerLayer, type CircuitBreakerDecoratorOptions, type CircuitBreakerLayer } from './decorators/layers.js';
export { CircuitBreakerInterceptor } from './interceptors/circuit-breaker.interceptor.js';
export { CircuitBreakerExceptionFilter } from './interceptors/circuit-breaker-exception.filter.js';
export { circuitOpenResponse, type CircuitOpenResponse } from './interceptors/open-error.mapping.js';
// Event stream and dashboard page of the management API, for routes of your own.
export { circuitBreakerEventStream, type CircuitBreakerEventStreamOptions, DEFAULT_HEARTBEAT_MS } from './management/event-stream.js';
export { DASHBOARD_CONTENT_SECURITY_POLICY, type DashboardPageOptions, renderDashboard } from './management/dashboard.page.js';
