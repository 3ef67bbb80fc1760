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
  STORE_EVENTS,
  STORE_OPERATIONS,
  storeAlreadyAttachedMessage,
  storeAvailableMessage,
  storeClosedMessage,
  storeDataLostMessage,
  storeKeyUnusableMessage,
  storeKeyUsableMessage,
} from './store.messages.js';
import { OutageLog, type StoreCause, storeCauseOf, TIMEOUT_CAUSE, UNKNOWN_CAUSE } from './store-cause.js';
import { isPermanentStoreError, TIMED_OUT, ttlOf, unrefTimer, within } from './store-timing.js';

const DEFAULT_TIMEOUT_MS = 50;
const DEFAULT_STARTUP_TIMEOUT_MS = 2_000;
const DEFAULT_HEARTBEAT_MS = 2_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 1_000;
/** While the store is unavailable but connected (it stopped answering in time), how often to check whether it answers again. */
const RECOVERY_INTERVAL_MS = 1_000;
/** Breakers resynchronised at a time: a slow store gets one batch of commands, not one per breaker. */
const RESYNC_BATCH = 256;
/** First and longest wait before retrying a breaker whose keys gave a permanent error (e.g. WRONGTYPE). */
const BROKEN_RETRY_MS = 10_000;
const BROKEN_RETRY_MAX_MS = 300_000;

/** What `op()` resolves to when the operation failed or timed out. */
const FAILED: unique symbol = Symbol('store operation failed');
type Failed = typeof FAILED;

interface Attachment {
  readonly breaker: Breaker;
  readonly detach: () => void;
  /** the newest transition known here, shared again when the store comes back */
  last: SharedTransition | null;
  /** whether the store is known to hold `last` (written, or received from it) */
  confirmed: boolean;
  /** tokens of the half-open leases granted here and not given back yet, oldest first */
  readonly leases: string[];
  /** a write of this breaker is on its way (until the store answers, however late): the next one waits */
  writing: boolean;
  /** a newer transition arrived meanwhile: written (the latest only) once the current write settles */
  rewrite: boolean;
  /** the `epoch` of the store's last answer about this breaker (a resync skips it when current) */
  answered: number;
  /** set while its keys give a permanent error: no commands but a slow retry */
  broken: { retryMs: number; timer: ReturnType<typeof setTimeout> | null } | null;
}

/**
 * The fleet logic of a store, over a few backend primitives (read, conditional write with broadcast,
 * lease, release, marker): timeouts on every operation, one log line naming the cause when the backend
 * is lost (one more per other cause) and one when it is back, resynchronisation in batches (last writer
 * wins by `at`), at most one write in flight per breaker (the latest state only), a heartbeat that
 * notices lost data and writes it back.
 * `InMemoryCircuitBreakerStore` and `RedisCircuitBreakerStore` extend it; a third-party store may
 * too, or implement `CircuitBreakerStore` directly.
 */
export abstract class SharedStateStore implements CircuitBreakerStore {
  /** This store's id in broadcasts. */
  protected readonly origin: string = randomUUID();
  protected readonly timeoutMs: number;
  private readonly startupTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly closeTimeoutMs: number;
  private readonly logger: StoreLogger;
  /** the lines of an outage: one per cause */
  private readonly outage: OutageLog;
  private readonly attachments = new Map<string, Attachment>();
  private readonly sync: BreakerSync;
  private started: Promise<void> | null = null;
  private available = true;
  /** failures so far: a resynchronisation counts as a recovery only if none happened meanwhile */
  private failures = 0;
  private closed = false;
  private recoveryTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private checking = false;
  private resyncing: Promise<void> | null = null;
  /** the marker of the shared data last seen (null before the first check) */
  private marker: string | null = null;
  /** counts reconnections and outages that may have cost broadcasts or data: an answer of the current epoch needs no resync */
  private epoch = 0;
  /** numbers the lease tokens of this store */
  private leaseSeq = 0;

  protected constructor(
    /** names the store in log lines, e.g. `redis` */
    protected readonly label: string,
    options: SharedStateStoreOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.logger = options.logger ?? consoleStoreLogger;
    this.outage = new OutageLog(label, (message) => this.say('warn', message));
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
   * (expiring after `ttlMs`; null = never), clears the half-open leases of `name` and broadcasts
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
  /**
   * The marker of the shared data: sets it to `proposal` when there is none, and resolves to the one
   * stored. A different marker than before means the data was lost (flushed, evicted, a new server).
   * The default resolves `proposal` every time: no loss is ever noticed.
   */
  protected async checkMarker(proposal: string): Promise<string> {
    return this.marker ?? proposal;
  }
  /** Where the shared state of `name` lives, for log lines (e.g. its keys). */
  protected describeKeys(name: string): string {
    return `'${name}'`;
  }
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
      confirmed: false,
      leases: [],
      writing: false,
      rewrite: false,
      answered: -1,
      broken: null,
      detach: () => {
        if (this.attachments.get(name) !== entry) return;
        this.attachments.delete(name);
        detachSync();
        if (entry.broken?.timer) clearTimeout(entry.broken.timer);
        // A detached breaker probes no more: its leases go back rather than blocking the fleet.
        for (const token of entry.leases.splice(0)) this.giveBack(name, token);
      },
    };
    this.attachments.set(name, entry);
    await this.start();
    if (this.attachments.get(name) === entry) {
      const shared = await this.op(STORE_OPERATIONS.load(name), () => this.read(name), name);
      if (shared !== FAILED && this.attachments.get(name) === entry) {
        entry.answered = this.epoch;
        if (shared !== null) this.applyShared(entry, shared);
      }
    }
    return entry.detach;
  }

  /** Detaches every breaker and releases what the store opened itself, within `closeTimeoutMs` whatever the backend does. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const entry of [...this.attachments.values()]) entry.detach();
    this.closed = true;
    this.outage.dispose();
    this.stopRecovery();
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    await within(this.closeTimeoutMs, () => this.disconnect());
  }

  // ---------------------------------------------------------------------------------------------
  // For subclasses

  /** Hands a broadcast to the attached breaker of that name (a store's own messages are dropped). */
  protected receive(message: SharedStoreMessage): void {
    if (message.origin === this.origin) return;
    const entry = this.attachments.get(message.name);
    if (entry !== undefined) this.applyShared(entry, message.transition);
  }

  /**
   * The backend is unreachable because of `event` (e.g. `connection lost`), for `error` (classified:
   * a Redis reply's first word, an error code): logged once per cause until it is back. Without an
   * error (a connection that closed cleanly) the line waits up to a second for one to name the cause.
   */
  protected connectionLost(event: string, error?: unknown): void {
    this.markUnavailable(event, error === undefined || error === null ? null : storeCauseOf(error));
  }

  /** The backend is reachable again (e.g. reconnected): resynchronise every attached breaker. */
  protected reconnected(): void {
    this.epoch++; // broadcasts may have been missed while disconnected: everything is read again
    if (!this.available && !this.closed) void this.resync();
  }

  // ---------------------------------------------------------------------------------------------
  // BreakerSync

  private publish(breaker: Breaker, transition: SharedTransition): void {
    const entry = this.attachments.get(breaker.name);
    if (entry === undefined || entry.breaker !== breaker) return;
    entry.last = transition;
    entry.confirmed = false;
    // A winning write clears every lease of the generation that ends, but one that loses the race (a
    // newer transition is stored) or times out does not: the leases held here go back by token after it.
    const held = entry.leases.splice(0);
    const shared = entry.broken === null ? this.share(entry, STORE_OPERATIONS.publish(breaker.name)) : Promise.resolve(false);
    void shared.then(() => {
      for (const token of held) this.giveBack(breaker.name, token);
    });
  }

  private async acquireProbe(breaker: Breaker): Promise<boolean> {
    const name = breaker.name;
    const { halfOpenMaxCalls, halfOpenTimeoutMs, callTimeoutMs } = breaker.options;
    if (this.attachments.get(name)?.broken) return true; // its keys are unusable: the local limit holds
    // A lease lives no longer than the probe it guards: a probe that never settles sends the breaker
    // back to OPEN after halfOpenTimeoutMs (or fails at callTimeoutMs), and that transition clears it.
    const ttlMs = callTimeoutMs === null ? halfOpenTimeoutMs : Math.min(halfOpenTimeoutMs, callTimeoutMs + this.timeoutMs);
    const token = `${this.origin}:${++this.leaseSeq}`;
    let sent = false;
    const granted = await this.op(STORE_OPERATIONS.lease(name), () => {
      sent = true;
      return this.acquireLease(name, token, halfOpenMaxCalls, ttlMs);
    }, name);
    const entry = this.attachments.get(name);
    if (granted === FAILED || entry === undefined || entry.breaker !== breaker) {
      // No answer in time (or the breaker is gone): the grant may still happen in the store later.
      // The release is sent after the request, so the store runs it after the grant, whenever that is.
      if (sent) this.giveBack(name, token);
      // Availability first: a store that cannot answer in time leaves the local limit in charge.
      return granted === FAILED;
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
    if (this.isConnected()) void within(this.timeoutMs, () => this.releaseLease(name, token));
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Writes the breaker's latest transition (last writer wins); applies the stored one when it is newer.
   * At most one write per breaker is on its way: a newer transition waits for it, and only the latest
   * is written. Resolves false when the store did not answer (in time).
   */
  private async share(entry: Attachment, operation: string): Promise<boolean> {
    const transition = entry.last;
    if (transition === null) return true;
    if (entry.writing) {
      entry.rewrite = true;
      return false;
    }
    const name = entry.breaker.name;
    const message: SharedStoreMessage = { origin: this.origin, name, transition };
    entry.writing = true;
    const settled = (newer?: SharedTransition | null) => {
      entry.writing = false;
      if (newer !== undefined && this.attachments.get(name) === entry) {
        // Even a late answer says what the store holds now: no resync needed for this breaker.
        entry.answered = this.epoch;
        if (entry.last === transition) entry.confirmed = true;
        if (newer !== null) this.applyShared(entry, newer);
      }
      if (!entry.rewrite) return;
      entry.rewrite = false;
      if (this.attachments.get(name) === entry && !entry.confirmed && entry.broken === null) void this.share(entry, STORE_OPERATIONS.publish(name));
    };
    const newer = await this.op(operation, () => {
      const writing = this.write(name, transition, ttlOf(entry.breaker, transition), message);
      writing.then(settled, () => settled());
      return writing;
    }, name, settled);
    return newer !== FAILED;
  }

  private applyShared(entry: Attachment, transition: SharedTransition): void {
    // The fleet's transition cleared the leases of the generation it ended, those held here included.
    if (entry.breaker.applyRemote(transition)) entry.leases.length = 0;
    if (entry.last === null || transition.at >= entry.last.at) {
      entry.last = transition;
      entry.confirmed = true;
    }
  }

  private start(): Promise<void> {
    return (this.started ??= within(this.startupTimeoutMs, () => this.connect()).then(async (outcome) => {
      // Already unavailable: the connection's own cause is logged, the time-out adds nothing to it.
      if (outcome === TIMED_OUT) this.markUnavailable(STORE_EVENTS.startup(this.startupTimeoutMs), this.available ? TIMEOUT_CAUSE : UNKNOWN_CAUSE);
      else if (outcome !== undefined) this.markUnavailable(STORE_EVENTS.failed('connecting'), storeCauseOf(outcome.error));
      else await this.heartbeat();
      if (this.heartbeatMs > 0 && !this.closed) {
        this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
        this.heartbeatTimer.unref?.();
      }
    }));
  }

  /**
   * One command: is the shared data still there? When its marker changed (flushed, evicted, a new
   * server), every breaker's state is written back. While unavailable, an answer starts the resync.
   */
  private async heartbeat(): Promise<void> {
    if (this.checking || this.closed || !this.isConnected()) return;
    this.checking = true;
    try {
      const marker = await this.op(STORE_OPERATIONS.heartbeat, () => this.checkMarker(randomUUID()));
      if (marker === FAILED || this.closed) return;
      const lost = this.marker !== null && marker !== this.marker;
      this.marker = marker;
      if (lost) {
        for (const entry of this.attachments.values()) entry.confirmed = false;
        const known = [...this.attachments.values()].filter((entry) => entry.last !== null).length;
        this.say('warn', storeDataLostMessage(this.label, known));
        await this.resync();
      } else if (!this.available) {
        await this.resync();
      }
    } finally {
      this.checking = false;
    }
  }

  /**
   * Runs one store operation within `timeoutMs`; resolves `FAILED` (and marks the store unavailable)
   * instead of failing or waiting longer. A late answer is ignored. A permanent error of one breaker's
   * keys (`name`) sets that breaker aside instead. `notSent` runs when the operation was not even tried.
   */
  private async op<T>(operation: string, run: () => Promise<T>, name?: string, notSent?: () => void): Promise<T | Failed> {
    if (!this.isConnected()) {
      notSent?.();
      this.markUnavailable(STORE_EVENTS.notConnected, UNKNOWN_CAUSE);
      return FAILED;
    }
    let value!: T;
    const outcome = await within(this.timeoutMs, async () => {
      value = await run();
    });
    const entry = name === undefined ? undefined : this.attachments.get(name);
    if (outcome === undefined) {
      if (entry?.broken) this.mended(entry);
      return value;
    }
    if (outcome === TIMED_OUT) {
      this.markUnavailable(STORE_EVENTS.timeout(operation, this.timeoutMs), TIMEOUT_CAUSE);
    } else if (entry !== undefined && isPermanentStoreError(outcome.error)) {
      this.setAside(entry, STORE_EVENTS.failed(operation), storeCauseOf(outcome.error));
    } else {
      this.markUnavailable(STORE_EVENTS.failed(operation), storeCauseOf(outcome.error));
    }
    return FAILED;
  }

  /** A breaker whose keys gave a permanent error: logged once, then retried slowly (one command per retry). */
  private setAside(entry: Attachment, event: string, cause: StoreCause): void {
    if (this.closed) return;
    const name = entry.breaker.name;
    if (entry.broken === null) {
      entry.broken = { retryMs: BROKEN_RETRY_MS, timer: null };
      this.say('warn', storeKeyUnusableMessage(this.label, name, this.describeKeys(name), event, cause.text, BROKEN_RETRY_MS));
    } else {
      entry.broken.retryMs = Math.min(entry.broken.retryMs * 2, BROKEN_RETRY_MAX_MS);
    }
    const broken = entry.broken;
    if (broken.timer !== null) clearTimeout(broken.timer);
    broken.timer = unrefTimer(broken.retryMs, () => {
      broken.timer = null;
      if (this.attachments.get(name) === entry && entry.broken === broken) void this.resyncOne(entry, true);
    });
  }

  private mended(entry: Attachment): void {
    if (entry.broken?.timer) clearTimeout(entry.broken.timer);
    entry.broken = null;
    this.say('log', storeKeyUsableMessage(this.label, entry.breaker.name));
  }

  /** `cause` null: still to come (see `connectionLost`). */
  private markUnavailable(event: string, cause: StoreCause | null): void {
    if (this.closed) return;
    this.failures++;
    this.available = false;
    // Late answers only, on a connection that held: no broadcast was missed (they arrive once the store
    // runs again) and the marker tells whether the data survived, so the recovery shares only what changed
    // here. Any other cause may have cost broadcasts or the data: every breaker is read again and the marker
    // learned anew (the recovery writes everything back, so an empty server is not also reported as lost data).
    if (cause !== TIMEOUT_CAUSE) {
      this.epoch++;
      this.marker = null;
    }
    this.outage.report(event, cause);
    if (this.recoveryTimer === null) {
      // One command per tick (the heartbeat) until the store answers; then one resync round.
      this.recoveryTimer = setInterval(() => void this.heartbeat(), RECOVERY_INTERVAL_MS);
      this.recoveryTimer.unref?.();
    }
  }

  private resync(): Promise<void> {
    return (this.resyncing ??= this.resyncAll().finally(() => {
      this.resyncing = null;
    }));
  }

  /** The breakers that may disagree with the store, a batch at a time; a batch the store does not answer ends the round. */
  private async resyncAll(): Promise<void> {
    const failuresBefore = this.failures;
    // Sorted out first: a breaker that agrees costs neither a command nor a turn of the event loop.
    const entries = [...this.attachments.values()].filter((entry) => entry.broken === null && !this.agrees(entry));
    for (let i = 0; i < entries.length; i += RESYNC_BATCH) {
      const answered = await Promise.all(entries.slice(i, i + RESYNC_BATCH).map((entry) => this.resyncOne(entry, false)));
      if (this.closed || answered.includes(false) || this.failures !== failuresBefore) return;
    }
    if (this.closed || this.available || this.failures !== failuresBefore) return;
    this.available = true;
    this.stopRecovery();
    this.outage.end();
    this.say('log', storeAvailableMessage(this.label, this.attachments.size));
  }

  /** Answered since the outage began (a late answer counts): the store and this breaker agree. */
  private agrees(entry: Attachment): boolean {
    return entry.answered === this.epoch && (entry.last === null || entry.confirmed);
  }

  /** Logs without ever throwing: this runs inside breaker transitions. */
  private say(level: 'log' | 'warn', message: string): void {
    try {
      this.logger[level](message);
    } catch {
      // a broken logger must not break a breaker
    }
  }

  private async resyncOne(entry: Attachment, retryingBroken: boolean): Promise<boolean> {
    if (this.attachments.get(entry.breaker.name) !== entry) return true;
    if (entry.broken !== null && !retryingBroken) return true; // retried on its own, slowly
    if (this.agrees(entry)) return true;
    const name = entry.breaker.name;
    // What this instance knows goes back to the store (it may have missed it, or lost its data); a newer shared one wins.
    if (entry.last !== null && !entry.confirmed) return this.share(entry, STORE_OPERATIONS.resync(name));
    const shared = await this.op(STORE_OPERATIONS.resync(name), () => this.read(name), name);
    if (shared === FAILED) return false;
    entry.answered = this.epoch;
    if (shared !== null) this.applyShared(entry, shared);
    else if (entry.last !== null) {
      // The store lost what this instance knows (an expired or evicted key): written back.
      entry.confirmed = false;
      return this.share(entry, STORE_OPERATIONS.resync(name));
    }
    return true;
  }

  private stopRecovery(): void {
    if (this.recoveryTimer === null) return;
    clearInterval(this.recoveryTimer);
    this.recoveryTimer = null;
  }
}
