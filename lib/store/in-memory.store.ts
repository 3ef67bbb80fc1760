import type { SharedTransition } from '../core/index.js';
import { SharedStateStore } from './shared-state.store.js';
import type { SharedStateStoreOptions, SharedStoreMessage } from './store.interface.js';
import { checkStoreOptions } from './store-options.js';
import { STORE_EXPECTED } from './store.messages.js';

interface StoredRecord {
  transition: SharedTransition;
  expiresAt: number;
}

/** the half-open leases of one breaker: token → when it expires (epoch ms) */
type Leases = Map<string, number>;

/**
 * The shared memory of an in-process fleet: every `InMemoryCircuitBreakerStore` given the same
 * backend behaves like one instance of a service sharing one store (for tests, or several
 * applications in one process). Expiry follows the wall clock, as a real store's would.
 */
export class InMemoryStoreBackend {
  private readonly records = new Map<string, StoredRecord>();
  private readonly leases = new Map<string, Leases>();
  private readonly subscribers = new Set<(message: SharedStoreMessage) => void>();

  /** The stored transition of `name`, or null. */
  read(name: string): SharedTransition | null {
    const record = this.records.get(name);
    if (record === undefined) return null;
    if (record.expiresAt <= Date.now()) {
      this.records.delete(name);
      return null;
    }
    return record.transition;
  }

  /** See `SharedStateStore.write`. Broadcasts are delivered asynchronously, as over a network. */
  write(name: string, transition: SharedTransition, ttlMs: number | null, message: SharedStoreMessage): SharedTransition | null {
    const current = this.read(name);
    if (current !== null && current.at > transition.at) return current;
    this.records.set(name, { transition: { ...transition }, expiresAt: ttlMs === null ? Infinity : Date.now() + ttlMs });
    this.leases.delete(name);
    for (const subscriber of this.subscribers) queueMicrotask(() => subscriber(message));
    return null;
  }

  /** See `SharedStateStore.acquireLease`. */
  acquireLease(name: string, token: string, limit: number, ttlMs: number): boolean {
    const now = Date.now();
    let leases = this.leases.get(name);
    if (leases === undefined) this.leases.set(name, (leases = new Map()));
    for (const [held, expiresAt] of leases) if (expiresAt <= now) leases.delete(held);
    if (leases.size >= limit) return false;
    leases.set(token, now + ttlMs);
    return true;
  }

  /** See `SharedStateStore.releaseLease`. */
  releaseLease(name: string, token: string): void {
    const leases = this.leases.get(name);
    if (leases === undefined) return;
    leases.delete(token);
    if (leases.size === 0) this.leases.delete(name);
  }

  /** How many unexpired half-open leases `name` has (for tests and diagnostics). */
  leasesHeld(name: string): number {
    const now = Date.now();
    let held = 0;
    for (const expiresAt of this.leases.get(name)?.values() ?? []) if (expiresAt > now) held++;
    return held;
  }

  /** Receives every broadcast; returns the function that unsubscribes. */
  subscribe(listener: (message: SharedStoreMessage) => void): () => void {
    this.subscribers.add(listener);
    return () => {
      this.subscribers.delete(listener);
    };
  }
}

/** Options of `InMemoryCircuitBreakerStore`. */
export interface InMemoryCircuitBreakerStoreOptions extends SharedStateStoreOptions {
  /** the memory shared with other stores of the same fleet @default a new backend of its own */
  backend?: InMemoryStoreBackend;
}

/**
 * A store in the memory of this process. Alone it shares nothing (one instance needs no sharing);
 * stores given one `InMemoryStoreBackend` share state like instances sharing Redis, which makes it
 * the reference implementation of the store contract and a stand-in for Redis in tests.
 *
 * @example
 * const backend = new InMemoryStoreBackend();
 * const instanceA = new InMemoryCircuitBreakerStore({ backend });
 * const instanceB = new InMemoryCircuitBreakerStore({ backend });
 */
export class InMemoryCircuitBreakerStore extends SharedStateStore {
  private readonly backend: InMemoryStoreBackend;
  private unsubscribe: (() => void) | null = null;

  constructor(options: InMemoryCircuitBreakerStoreOptions = {}) {
    const o = checkStoreOptions<InMemoryCircuitBreakerStoreOptions>(options, ['backend'], ({ backend }) =>
      backend === undefined || backend instanceof InMemoryStoreBackend ? [] : [{ path: 'backend', expected: STORE_EXPECTED.backend, value: backend }]);
    super('in-memory', o);
    this.backend = o.backend ?? new InMemoryStoreBackend();
  }

  protected async connect(): Promise<void> {
    this.unsubscribe ??= this.backend.subscribe((message) => this.receive(message));
  }

  protected async disconnect(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  protected async read(name: string): Promise<SharedTransition | null> {
    return this.backend.read(name);
  }

  protected async write(name: string, transition: SharedTransition, ttlMs: number | null, message: SharedStoreMessage): Promise<SharedTransition | null> {
    return this.backend.write(name, transition, ttlMs, message);
  }

  protected async acquireLease(name: string, token: string, limit: number, ttlMs: number): Promise<boolean> {
    return this.backend.acquireLease(name, token, limit, ttlMs);
  }

  protected async releaseLease(name: string, token: string): Promise<void> {
    this.backend.releaseLease(name, token);
  }
}
