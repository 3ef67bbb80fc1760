/**
 * Metadata key of the ordered wrapping layers on a decorated method (`descriptor.value`). Each wrapping
 * method decorator (`@CircuitBreaker`, `@Retry`) pushes one layer onto a copy of the array; decorators
 * run bottom-up, so index 0 is the innermost layer.
 */
export const CIRCUIT_BREAKER_LAYERS = 'circuit_breaker:layers';

/** Token of the options of `CircuitBreakerMetricsModule.forRoot()` (`nestjs-circuit-breaker/prometheus`). */
export const CIRCUIT_BREAKER_METRICS_OPTIONS = 'CIRCUIT_BREAKER_METRICS_OPTIONS';
