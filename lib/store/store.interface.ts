import type { Breaker, SharedTransition } from '../core/index.js';

/**
 * Shares breaker state between the instances of a service: pass one as the module's `store` option
 * (e.g. `new RedisCircuitBreakerStore({ client })` from `nestjs-circuit-breaker/redis`).
 *
 * What is shared: transitions (open with the end of its open period, forced open, disabled, reset,
 * closed) and a fleet-wide half-open lease. What stays local: windows, failure counts and statistics.
 * The CLOSED hot path never waits for a store.
 *
 * To check an implementation, run `describeCircuitBreakerStoreContract` from
 * `nestjs-circuit-breaker/testing/store-contract`.
 */
export interface CircuitBreakerStore {
  /**
   * Connects a breaker to the fleet: loads its shared state and applies it, then shares its
   * transitions and applies those of other instances until the returned function detaches it.
   * Resolves once the shared state is applied, or could not be loaded in time (the breaker then
   * starts from local state and catches up when the store is back).
   */
  attach(breaker: Breaker): Promise<() => void>;
  /** Detaches every breaker and releases what the store opened itself (never a client you passed in). */
  close(): Promise<void>;
}

/** Where a store reports losing and regaining its backend. Nest's `Logger` fits. */
export interface StoreLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** The default store logger: the console. */
export const consoleStoreLogger: StoreLogger = Object.freeze({
  log: (message: string) => console.log(message),
  warn: (message: string) => console.warn(message),
});

/** Options every store built on `SharedStateStore` accepts. */
export interface SharedStateStoreOptions {
  /**
   * Longest wait for any one store operation, in ms. A half-open lease not granted in time admits the
   * probe under the local limit; a transition not shared in time is shared again when the store is back.
   * @default 50
   */
  timeoutMs?: number;
  /** Longest wait for the store's first connection, when the first breaker is attached, in ms. @default 2000 */
  startupTimeoutMs?: number;
  /**
   * How often the store checks that its shared data is still there (a marker key: a flush, an eviction
   * or an emptied server is noticed and the state written back), and, while unavailable, whether it
   * answers again. One command per check. 0 turns the check off. @default 2000
   */
  heartbeatMs?: number;
  /** Longest wait of `close()`, whatever the backend does, in ms. @default 1000 */
  closeTimeoutMs?: number;
  /** Where losing and regaining the store is logged (one line each). @default console */
  logger?: StoreLogger;
}

/** A transition broadcast to the fleet: who sent it, for which breaker. */
export interface SharedStoreMessage {
  /** the sending store's id; a store ignores its own messages */
  origin: string;
  name: string;
  transition: SharedTransition;
}
