// Entry point `nestjs-circuit-breaker/opentelemetry` (optional peer `@opentelemetry/api`): explicit named exports only.
export {
  CIRCUIT_BREAKER_OTEL_ATTRIBUTES,
  CIRCUIT_BREAKER_OTEL_DURATION_BUCKETS,
  CIRCUIT_BREAKER_OTEL_INSTRUMENTS,
  CIRCUIT_BREAKER_SPAN_EVENTS,
  type CircuitBreakerOtelOptions,
  type CircuitBreakerOtelSource,
  registerCircuitBreakerOtel,
} from './circuit-breaker-otel.js';
export { CIRCUIT_BREAKER_OTEL_OPTIONS, CircuitBreakerOtelCollector, CircuitBreakerOtelModule } from './circuit-breaker-otel.module.js';
