import { randomUUID } from 'node:crypto';
import type { Breaker, BreakerSync, SharedTransition } from './breaker.js';
import { CircuitBreakerConfigError, CircuitBreakerError, type ConfigProblem } from './errors.js';
import {
  safeOptionValue,
  STORE_CAUSES,
  STORE_EXPECTED,
  STORE_OPERATIONS,
  storeAlreadyAttachedMessage,
  storeAvailableMessage,
  storeClosedMessage,
  storeUnavailableMessage,
} from './store.messages.js';

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

const DEFAULT_TIMEOUT_MS = 50;
const DEFAULT_STARTUP_TIMEOUT_MS = 2_000;
/** While the store is unavailable but connected (it stopped answering in time), how often to try to resynchronise. */
const RECOVERY_INTERVAL_MS = 1_000;
/**
 * How long a `closed` or `reset` record stays in the store. It only orders transitions (last writer
 * wins) after an outage; without it a breaker starts closed, which is the same thing.
 */
const SETTLED_RECORD_TTL_MS = 24 * 60 * 60 * 1_000;
const SHARED_STATES: ReadonlySet<string> = new Set(['open', 'closed', 'forced_open', 'disabled', 'reset']);
const SHARED_OPTION_KEYS = ['timeoutMs', 'startupTimeoutMs', 'logger'] as const;

/** What `within()` resolves to when the operation failed or timed out. */
const FAILED: unique symbol = Symbol('store operation failed');
type Failed = typeof FAILED;

interface Attachment {
  readonly breaker: Breaker;
  readonly detach: () => void;
  /** the newest transition known here, shared again when the store comes back */
  last: SharedTransition | null;
}

/**
 * The fleet logic of a store, over a few backend primitives (read, conditional write with broadcast,
 * lease, release): timeouts on every operation, one log line when the backend is lost and one when it
 * is back, resynchronisation (last writer wins by `at`). `InMemoryCircuitBreakerStore` and
 * `RedisCircuitBreakerStore` extend it; a third-party store may too, or implement
 * `CircuitBreakerStore` directly.
 */
export abstract class SharedStateStore implements CircuitBreakerStore {
  /** This store's id in broadcasts. */
  protected readonly origin: string = randomUUID();
  protected readonly timeoutMs: number;
  private readonly startupTimeoutMs: number;
  private readonly logger: StoreLogger;
  private readonly attachments = new Map<string, Attachment>();
  private readonly sync: BreakerSync;
  private started: Promise<void> | null = null;
  private available = true;
  /** failures so far: a resynchronisation counts as a recovery only if none happened meanwhile */
  private failures = 0;
  private closed = false;
  private recoveryTimer: ReturnType<typeof setInterval> | null = null;
  private resyncing: Promise<void> | null = null;

  protected constructor(
    /** names the store in log lines, e.g. `redis` */
    protected readonly label: string,
    options: SharedStateStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    this.logger = options.logger ?? consoleStoreLogger;
    this.sync = {
      publish: (breaker, transition) => this.publish(breaker, transition),
      acquireProbe: (breaker) => this.acquireProbe(breaker),
      releaseProbe: (breaker) => this.releaseProbe(breaker),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Backend primitives

  /** Starts receiving broadcasts (hand each to `receive()`); resolves once the backend is usable. */
  protected abstract connect(): Promise<void>;
  /** Releases what the store opened itself. */
  protected abstract disconnect(): Promise<void>;
  /** The shared transition of `name`, or null when there is none (or it expired). */
  protected abstract read(name: string): Promise<SharedTransition | null>;
  /**
   * Atomically: unless the stored transition of `name` is newer (greater `at`), stores `transition`
   * (expiring after `ttlMs`; null = never), clears the half-open lease of `name` and broadcasts
   * `message` to the fleet. Resolves to the newer stored transition when it lost, else null.
   */
  protected abstract write(name: string, transition: SharedTransition, ttlMs: number | null, message: SharedStoreMessage): Promise<SharedTransition | null>;
  /** Atomically takes one of `limit` half-open leases of `name` (the lease expires after `ttlMs`); false when all are taken. */
  protected abstract acquireLease(name: string, limit: number, ttlMs: number): Promise<boolean>;
  /** Gives back one half-open lease of `name`. */
  protected abstract releaseLease(name: string): Promise<void>;
  /** False while the backend is known to be unreachable: operations then fail at once instead of waiting. */
  protected isConnected(): boolean {
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // CircuitBreakerStore

  async attach(breaker: Breaker): Promise<() => void> {
    if (this.closed) throw new CircuitBreakerError(storeClosedMessage(this.label));
    const name = breaker.name;
    if (this.attachments.has(name)) throw new CircuitBreakerError(storeAlreadyAttachedMessage(this.label, name));
    const detachSync = breaker.attachSync(this.sync);
    const entry: Attachment = {
      breaker,
      last: null,
      detach: () => {
        if (this.attachments.get(name) !== entry) return;
        this.attachments.delete(name);
        detachSync();
      },
    };
    this.attachments.set(name, entry);
    await this.start();
    if (this.attachments.get(name) === entry) {
      const shared = await this.op(STORE_OPERATIONS.load(name), () => this.read(name));
      if (shared !== FAILED && shared !== null && this.attachments.get(name) === entry) this.applyShared(entry, shared);
    }
    return entry.detach;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopRecovery();
    for (const entry of [...this.attachments.values()]) entry.detach();
    await this.disconnect();
  }

  // ---------------------------------------------------------------------------------------------
  // For subclasses

  /** Hands a broadcast to the attached breaker of that name (a store's own messages are dropped). */
  protected receive(message: SharedStoreMessage): void {
    if (message.origin === this.origin) return;
    const entry = this.attachments.get(message.name);
    if (entry !== undefined) this.applyShared(entry, message.transition);
  }

  /** The backend is unreachable (e.g. the connection dropped): logged once, until it is back. */
  protected connectionLost(cause: string): void {
    this.markUnavailable(cause);
  }

  /** The backend is reachable again (e.g. reconnected): resynchronise every attached breaker. */
  protected reconnected(): void {
    if (!this.available && !this.closed) void this.resync();
  }

  // ---------------------------------------------------------------------------------------------
  // BreakerSync

  private publish(breaker: Breaker, transition: SharedTransition): void {
    const entry = this.attachments.get(breaker.name);
    if (entry === undefined || entry.breaker !== breaker) return;
    entry.last = transition;
    void this.share(entry, transition, STORE_OPERATIONS.publish(breaker.name));
  }

  private async acquireProbe(breaker: Breaker): Promise<boolean> {
    const { halfOpenMaxCalls, halfOpenTimeoutMs } = breaker.options;
    const granted = await this.op(STORE_OPERATIONS.lease(breaker.name), () => this.acquireLease(breaker.name, halfOpenMaxCalls, halfOpenTimeoutMs));
    // Availability first: a store that cannot answer in time leaves the local limit in charge.
    return granted === FAILED ? true : granted;
  }

  private releaseProbe(breaker: Breaker): void {
    void this.op(STORE_OPERATIONS.release(breaker.name), () => this.releaseLease(breaker.name));
  }

  // ---------------------------------------------------------------------------------------------

  /** Writes a transition (last writer wins); applies the stored one when it is newer. Resolves false when the store did not answer. */
  private async share(entry: Attachment, transition: SharedTransition, operation: string): Promise<boolean> {
    const name = entry.breaker.name;
    const message: SharedStoreMessage = { origin: this.origin, name, transition };
    const newer = await this.op(operation, () => this.write(name, transition, ttlOf(entry.breaker, transition), message));
    if (newer === FAILED) return false;
    if (newer !== null) this.applyShared(entry, newer);
    return true;
  }

  private applyShared(entry: Attachment, transition: SharedTransition): void {
    entry.breaker.applyRemote(transition);
    if (entry.last === null || transition.at >= entry.last.at) entry.last = transition;
  }

  private start(): Promise<void> {
    return (this.started ??= within(this.startupTimeoutMs, () => this.connect()).then((outcome) => {
      if (outcome === TIMED_OUT) this.markUnavailable(STORE_CAUSES.startup(this.startupTimeoutMs));
      else if (outcome !== undefined) this.markUnavailable(STORE_CAUSES.failed('connecting', outcome.error));
    }));
  }

  /** Runs one store operation within `timeoutMs`; resolves `FAILED` (and marks the store unavailable) instead of failing or waiting longer. */
  private async op<T>(operation: string, run: () => Promise<T>): Promise<T | Failed> {
    if (!this.isConnected()) {
      this.markUnavailable(STORE_CAUSES.notConnected);
      return FAILED;
    }
    let value!: T;
    const outcome = await within(this.timeoutMs, async () => {
      value = await run();
    });
    if (outcome === undefined) return value;
    this.markUnavailable(outcome === TIMED_OUT ? STORE_CAUSES.timeout(operation, this.timeoutMs) : STORE_CAUSES.failed(operation, outcome.error));
    return FAILED;
  }

  private markUnavailable(cause: string): void {
    if (this.closed) return;
    this.failures++;
    if (this.available) {
      this.available = false;
      this.say('warn', storeUnavailableMessage(this.label, cause));
    }
    if (this.recoveryTimer === null) {
      this.recoveryTimer = setInterval(() => {
        if (this.isConnected()) void this.resync();
      }, RECOVERY_INTERVAL_MS);
      this.recoveryTimer.unref?.();
    }
  }

  private resync(): Promise<void> {
    return (this.resyncing ??= this.resyncAll().finally(() => {
      this.resyncing = null;
    }));
  }

  private async resyncAll(): Promise<void> {
    const failuresBefore = this.failures;
    const entries = [...this.attachments.values()];
    const answered = await Promise.all(entries.map((entry) => this.resyncOne(entry)));
    if (this.closed || this.available || this.failures !== failuresBefore || answered.includes(false)) return;
    this.available = true;
    this.stopRecovery();
    this.say('log', storeAvailableMessage(this.label, entries.length));
  }

  /** Logs without ever throwing: this runs inside breaker transitions. */
  private say(level: 'log' | 'warn', message: string): void {
    try {
      this.logger[level](message);
    } catch {
      // a broken logger must not break a breaker
    }
  }

  private async resyncOne(entry: Attachment): Promise<boolean> {
    const name = entry.breaker.name;
    // What this instance knows goes back to the store (it may have missed it, or lost its data); a newer shared one wins.
    if (entry.last !== null) return this.share(entry, entry.last, STORE_OPERATIONS.resync(name));
    const shared = await this.op(STORE_OPERATIONS.resync(name), () => this.read(name));
    if (shared === FAILED) return false;
    if (shared !== null) this.applyShared(entry, shared);
    return true;
  }

  private stopRecovery(): void {
    if (this.recoveryTimer === null) return;
    clearInterval(this.recoveryTimer);
    this.recoveryTimer = null;
  }
}

const TIMED_OUT: unique symbol = Symbol('timed out');

/** Resolves undefined when `run()` settles within `ms`, `TIMED_OUT` after `ms`, `{ error }` when it fails. Never rejects. */
function within(ms: number, run: () => Promise<void>): Promise<undefined | typeof TIMED_OUT | { error: unknown }> {
  return new Promise((resolve) => {
    // Timers run before I/O in each turn of the event loop: after a stall, an answer that arrived in
    // time is still unread when the timer fires. One more turn lets it through before the verdict.
    const timer = setTimeout(() => setImmediate(() => resolve(TIMED_OUT)), ms);
    timer.unref?.();
    let running: Promise<void>;
    try {
      running = run();
    } catch (error) {
      running = Promise.reject(error);
    }
    // A late outcome is dropped: the first resolve wins.
    running.then(
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ error });
      },
    );
  });
}

/** How long the shared record of a transition lives: an open one until its open period ends plus the half-open timeout. */
function ttlOf(breaker: Breaker, transition: SharedTransition): number | null {
  switch (transition.state) {
    case 'open':
      return Math.max(0, (transition.openUntil ?? 0) - Date.now()) + breaker.options.halfOpenTimeoutMs;
    case 'forced_open':
    case 'disabled':
      return null; // held until a reset
    default:
      return SETTLED_RECORD_TTL_MS;
  }
}

// -----------------------------------------------------------------------------------------------
// Wire format, for stores that keep transitions as text

/** A transition as JSON text, keys in a fixed order (so equal transitions are equal text). */
export function encodeTransition(transition: SharedTransition): string {
  const { state, openUntil, reason, at } = transition;
  return JSON.stringify(openUntil === undefined ? { state, reason, at } : { state, openUntil, reason, at });
}

/** Reads a transition written by `encodeTransition` (or an equal object); null for anything else. */
export function decodeTransition(value: unknown): SharedTransition | null {
  const t = typeof value === 'string' ? parseJson(value) : value;
  if (t === null || typeof t !== 'object') return null;
  const { state, openUntil, reason, at } = t as Record<string, unknown>;
  if (typeof state !== 'string' || !SHARED_STATES.has(state) || typeof at !== 'number' || !Number.isFinite(at)) return null;
  if (openUntil !== undefined && (typeof openUntil !== 'number' || !Number.isFinite(openUntil))) return null;
  return {
    state: state as SharedTransition['state'],
    ...(openUntil === undefined ? {} : { openUntil }),
    reason: typeof reason === 'string' ? reason : '',
    at,
  };
}

/** A broadcast as JSON text. */
export function encodeStoreMessage(message: SharedStoreMessage): string {
  return `{"origin":${JSON.stringify(message.origin)},"name":${JSON.stringify(message.name)},"transition":${encodeTransition(message.transition)}}`;
}

/** Reads a broadcast written by `encodeStoreMessage`; null for anything else. */
export function decodeStoreMessage(text: string): SharedStoreMessage | null {
  const m = parseJson(text);
  if (m === null || typeof m !== 'object') return null;
  const { origin, name, transition } = m as Record<string, unknown>;
  const decoded = decodeTransition(transition);
  if (typeof origin !== 'string' || typeof name !== 'string' || decoded === null) return null;
  return { origin, name, transition: decoded };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

// -----------------------------------------------------------------------------------------------
// Options

/**
 * Checks a store's options: the shared ones (`timeoutMs`, `startupTimeoutMs`, `logger`) and the
 * store's own, and throws one `CircuitBreakerConfigError` listing every problem. Returns the options.
 */
export function checkStoreOptions<O extends object>(
  options: unknown,
  ownKeys: readonly string[],
  ownProblems: (options: Record<string, unknown>) => ConfigProblem[],
): O {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CircuitBreakerConfigError([{ path: 'options', expected: STORE_EXPECTED.options, value: options }]);
  }
  const o = options as Record<string, unknown>;
  const known = [...ownKeys, ...SHARED_OPTION_KEYS];
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) problems.push({ path: key, expected: STORE_EXPECTED.unknownKey(known), value: safeOptionValue(o[key]) });
  }
  if (o.timeoutMs !== undefined && !(typeof o.timeoutMs === 'number' && Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) {
    problems.push({ path: 'timeoutMs', expected: STORE_EXPECTED.timeoutMs, value: o.timeoutMs });
  }
  if (o.startupTimeoutMs !== undefined && !(typeof o.startupTimeoutMs === 'number' && Number.isFinite(o.startupTimeoutMs) && o.startupTimeoutMs >= 0)) {
    problems.push({ path: 'startupTimeoutMs', expected: STORE_EXPECTED.startupTimeoutMs, value: o.startupTimeoutMs });
  }
  const logger = o.logger as Partial<StoreLogger> | undefined;
  if (logger !== undefined && (logger === null || typeof logger.log !== 'function' || typeof logger.warn !== 'function')) {
    problems.push({ path: 'logger', expected: STORE_EXPECTED.logger, value: o.logger });
  }
  problems.push(...ownProblems(o));
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  return options as O;
}

// -----------------------------------------------------------------------------------------------
// In memory

interface StoredRecord {
  transition: SharedTransition;
  expiresAt: number;
}

interface Lease {
  count: number;
  expiresAt: number;
}

/**
 * The shared memory of an in-process fleet: every `InMemoryCircuitBreakerStore` given the same
 * backend behaves like one instance of a service sharing one store (for tests, or several
 * applications in one process). Expiry follows the wall clock, as a real store's would.
 */
export class InMemoryStoreBackend {
  private readonly records = new Map<string, StoredRecord>();
  private readonly leases = new Map<string, Lease>();
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
  acquireLease(name: string, limit: number, ttlMs: number): boolean {
    const now = Date.now();
    const lease = this.leases.get(name);
    const count = lease === undefined || lease.expiresAt <= now ? 0 : lease.count;
    if (count >= limit) return false;
    this.leases.set(name, { count: count + 1, expiresAt: now + ttlMs });
    return true;
  }

  /** See `SharedStateStore.releaseLease`. */
  releaseLease(name: string): void {
    const lease = this.leases.get(name);
    if (lease === undefined) return;
    if (lease.count <= 1 || lease.expiresAt <= Date.now()) this.leases.delete(name);
    else lease.count--;
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

  protected async acquireLease(name: string, limit: number, ttlMs: number): Promise<boolean> {
    return this.backend.acquireLease(name, limit, ttlMs);
  }

  protected async releaseLease(name: string): Promise<void> {
    this.backend.releaseLease(name);
  }
}
