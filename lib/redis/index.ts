// Entry point `nestjs-circuit-breaker/redis` (optional peer: ioredis ^5 || ^6).
export { quitWithin } from './quit-within.js';
export { RedisCircuitBreakerStore, type RedisCircuitBreakerStoreOptions } from './redis-circuit-breaker.store.js';
