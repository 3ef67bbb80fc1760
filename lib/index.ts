// The public barrel of `nestjs-circuit-breaker`: explicit named exports only.
export * from './core/index.js';
export { Retry, type RetryLayer } from './decorators/retry.decorator.js';
