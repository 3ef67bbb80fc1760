// Entry point `nestjs-circuit-breaker/health` (optional peer: @nestjs/terminus).
export {
  CircuitBreakerHealthIndicator,
  type CircuitBreakerHealthData,
  type CircuitBreakerHealthDetails,
  type CircuitBreakerHealthOptions,
} from './circuit-breaker.health.js';
