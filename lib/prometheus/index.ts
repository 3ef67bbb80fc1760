// Entry point `nestjs-circuit-breaker/prometheus` (optional peer `prom-client`): explicit named exports only.
export {
  CIRCUIT_BREAKER_METRIC_NAMES,
  type CircuitBreakerMetricsOptions,
  type CircuitBreakerMetricsSource,
  registerCircuitBreakerMetrics,
} from './circuit-breaker-metrics.js';
export { circuitBreakerMetricsStream, circuitBreakerMetricsText } from './metrics-text.js';
export { CircuitBreakerMetricsCollector, CircuitBreakerMetricsModule, type CircuitBreakerMetricsModuleOptions } from './circuit-breaker-metrics.module.js';
