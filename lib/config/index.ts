// Entry point `nestjs-circuit-breaker/config` (optional peer: @nestjs/config).
export { circuitBreakerConfig } from './circuit-breaker.config.js';
