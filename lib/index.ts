// The public barrel of `nestjs-circuit-breaker`: explicit named exports only.
export * from './core/index.js';
