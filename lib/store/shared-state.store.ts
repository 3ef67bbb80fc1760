import { randomUUID } from 'node:crypto';
import { type Breaker, type BreakerSync, CircuitBreakerError, type SharedTransition } from '../core/index.js';
import {
  consoleStoreLogger,
  type CircuitBreakerStore,
  type SharedStateStoreOptions,
  type SharedStoreMessage,
  type StoreLogger,
} from './store.interface.js';
import {
  STORE_CAUSES,
  STORE_OPERATIONS,
  storeAlreadyAttachedMessage,
  storeAvailableMessage,
  storeClosedMessage,
  storeUnavailableMessage,
} from './store.messages.js';

const DEFAULT_TIMEOUT_MS = 50;
const DEFAULT_STARTUP_TIMEOUT_MS = 2_000;
/** While the store is unavailable but connected (it stopped answering in time), how often to try to resynchronise. */
const RECOVERY_INTERVAL_MS = 1_000;
/**
 * How long a `closed` or `reset` record stays in the store. It only orders transitions (last writer
 * wins) after an outage; without it a breaker starts closed, which is the same thing.
 */
const SETTLED_RECORD_TTL_MS = 24 * 60 * 60 * 1_000;

/** What `within()` resolves to when the operation failed or timed out. */
const FAILED: unique symbol = Symbol('store operation failed');
type Failed = typeof FAILED;

interface Attachment {
  readonly breaker: Breaker;
  readonly detach: () => void;
  /** the newest transition known here, shared again when the store comes back */
  last: SharedTransition | null;
  /** tokens of the half-open leases granted here and not given back yet, oldest first */
  readonly leases: string[];
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
  /** numbers the lease tokens of this store */
  private leaseSeq = 0;

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
  /**
   * Atomically takes one of `limit` half-open leases of `name` for `token` (unique per grant; the
   * lease expires after `ttlMs`); false when all are taken. Expired leases do not count.
   */
  protected abstract acquireLease(name: string, token: string, limit: number, ttlMs: number): Promise<boolean>;
  /** Gives back the half-open lease of `name` held by `token` (nothing when it is gone). */
  protected abstract releaseLease(name: string, token: string): Promise<void>;
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
      leases: [],
      detach: () => {
        if (this.attachments.get(name) !== entry) return;
        this.attachments.delete(name);
        detachSync();
        // A detached breaker probes no more: its leases go back rather than blocking the fleet.
        for (const token of entry.leases.splice(0)) this.giveBack(name, token);
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
    // A winning write clears every lease of the generation that ends, but one that loses the race (a
    // newer transition is stored) or times out does not: the leases held here go back by token after it.
    const held = entry.leases.splice(0);
    void this.share(entry, transition, STORE_OPERATIONS.publish(breaker.name)).then(() => {
      for (const token of held) this.giveBack(breaker.name, token);
    });
  }

  private async acquireProbe(breaker: Breaker): Promise<boolean> {
    const name = breaker.name;
    const { halfOpenMaxCalls, halfOpenTimeoutMs, callTimeoutMs } = breaker.options;
    // A lease lives no longer than the probe it guards: a probe that never settles sends the breaker
    // back to OPEN after halfOpenTimeoutMs (or fails at callTimeoutMs), and that transition clears it.
    const ttlMs = callTimeoutMs === undefined || callTimeoutMs === null ? halfOpenTimeoutMs : Math.min(halfOpenTimeoutMs, callTimeoutMs + this.timeoutMs);
    const token = `${this.origin}:${++this.leaseSeq}`;
    const granted = await this.op(STORE_OPERATIONS.lease(name), () => this.acquireLease(name, token, halfOpenMaxCalls, ttlMs));
    const entry = this.attachments.get(name);
    if (granted === FAILED || entry === undefined || entry.breaker !== breaker) {
      // No answer in time (or the breaker is gone): the grant may still happen in the store later.
      // The release is sent after the request, so the store runs it after the grant, whenever that is.
      this.giveBack(name, token);
      // Availability first: a store that cannot answer in time leaves the local limit in charge.
      return granted === FAILED ? true : false;
    }
    if (granted) entry.leases.push(token);
    return granted;
  }

  private releaseProbe(breaker: Breaker): void {
    const entry = this.attachments.get(breaker.name);
    if (entry === undefined || entry.breaker !== breaker) return;
    const token = entry.leases.shift();
    if (token !== undefined) this.giveBack(breaker.name, token);
  }

  /** Gives a lease back, without waiting; a release the store misses ends with the lease's expiry. */
  private giveBack(name: string, token: string): void {
    void within(this.timeoutMs, () => this.releaseLease(name, token));
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
    // The fleet's transition cleared the leases of the generation it ended, those held here included.
    if (entry.breaker.applyRemote(transition)) entry.leases.length = 0;
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
