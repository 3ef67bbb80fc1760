// Entry point `nestjs-circuit-breaker/store`: for people writing a store of their own. A store extends
// `SharedStateStore` (timeouts, resynchronisation, logging) over a few backend primitives, or implements
// `CircuitBreakerStore` directly; `describeCircuitBreakerStoreContract` (`nestjs-circuit-breaker/testing/store-contract`)
// checks it.
export type { BreakerSync, SharedTransition } from '../core/index.js';
export { InMemoryCircuitBreakerStore, type InMemoryCircuitBreakerStoreOptions, InMemoryStoreBackend } from './in-memory.store.js';
export { SharedStateStore } from './shared-state.store.js';
export {
  type CircuitBreakerStore,
  type SharedStateStoreOptions,
  type SharedStoreMessage,
  type StoreLogger,
} from './store.interface.js';
export { checkStoreOptions } from './store-options.js';
export { decodeStoreMessage, decodeTransition, encodeStoreMessage, encodeTransition } from './wire-format.js';
