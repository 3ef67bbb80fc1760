import {
  type BeforeApplicationShutdown,
  HttpException,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { Observable, type Subscriber } from 'rxjs';
import {
  Breaker,
  BREAKER_EVENT_NAMES,
  type BreakerEventMap,
  type BreakerEventName,
  type BreakerHooks,
  CircuitBreakerConfigError,
  CircuitBreakerError,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitState,
  type StateChangeEvent,
} from '../core/index.js';
import type { CircuitBreakerStore } from '../store/index.js';
import { CIRCUIT_BREAKER_DECLARATIONS, CIRCUIT_BREAKER_LOGGER_CONTEXT, CIRCUIT_BREAKER_MODULE_OPTIONS, CIRCUIT_BREAKER_QUIET_TRANSITIONS } from '../constants.js';
import type { CircuitBreakerConfigEntry, ResolvedCircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { injectedBreakerNames } from '../decorators/inject-circuit-breaker.decorator.js';
import { isEnvironmentEntry } from '../options/env.config.js';
import { breakerNameProblems, breakerOptionsFor, matchingBreakerKeys } from '../options/module-options.js';
import { closestName } from './closest-name.js';
import { CircuitBreakerLimitError, CircuitBreakerNameError } from './registry.errors.js';
import {
  createdListenerThrewMessage,
  DECLARED_BY,
  nearBreakerLimitMessage,
  REGISTRY_EXPECTED,
  removeDeclaredMessage,
  removedListenerThrewMessage,
  storeAttachFailedMessage,
  storeDetachFailedMessage,
  transitionMessage,
  unconfiguredNameMessage,
  unmatchedEnvironmentMessage,
} from './registry.messages.js';

/** One event of one breaker of a registry: `{ type, name, ...payload }`. */
export type CircuitBreakerRegistryEvent = { [E in BreakerEventName]: { type: E } & BreakerEventMap[E] }[BreakerEventName];

/** `healthy`: no breaker open, half-open or forced open; `unhealthy`: every breaker open or forced open. */
export type CircuitBreakerFleetHealth = 'healthy' | 'degraded' | 'unhealthy';

/** `healthy` (no breakers, or none open / half-open / forced open), `unhealthy` (all open or forced open), else `degraded`. */
export function fleetHealth(summary: { total_breakers: number } & Record<CircuitState, number>): CircuitBreakerFleetHealth {
  const down = summary.open + summary.forced_open;
  return down + summary.half_open === 0 ? 'healthy' : down === summary.total_breakers ? 'unhealthy' : 'degraded';
}

/** The JSON of `GET /circuit-breakers`. */
export interface CircuitBreakerRegistrySnapshot {
  /** ISO-8601 wall-clock time of the snapshot */
  timestamp: string;
  summary: {
    total_breakers: number;
    open: number;
    half_open: number;
    closed: number;
    forced_open: number;
    disabled: number;
    health: CircuitBreakerFleetHealth;
  };
  breakers: Record<string, CircuitBreakerSnapshot>;
}

/** Decorator-declared options by breaker name (collected at bootstrap by the explorer). */
export interface DeclaredBreakerOptions {
  optionsFor(name: string): CircuitBreakerConfigEntry | undefined;
  /** reads the classes not read yet (factory providers exist only at module init) */
  scan?(): void;
  /** every name a decorated method uses, with the first method naming it */
  declaredNames?(): ReadonlyMap<string, string>;
}

/** An `HttpException` below 500 is the caller's mistake, not the dependency's: ignored, never a failure. */
function isNotNestClientError(error: unknown): boolean {
  return !(error instanceof HttpException && error.getStatus() < 500);
}

function withNestFailureRule(options: CircuitBreakerOptions): CircuitBreakerOptions {
  const isFailure = options.isFailure;
  return {
    ...options,
    isFailure: isFailure === undefined ? isNotNestClientError : (error) => isNotNestClientError(error) && isFailure(error),
  };
}

/**
 * The breakers of one Nest application, by name. Breakers are created on first use (a decorated
 * method at bootstrap, `@InjectCircuitBreaker`, or `getOrCreate`) with the module's precedence
 * applied, logged through Nest's `Logger` on every state change, and disposed at shutdown. With a
 * `store`, every breaker is attached to it; bootstrap waits for the shared state of the breakers
 * created so far, and shutdown closes the store. With `maxBreakers`, no breaker is created beyond it.
 */
@Injectable()
export class CircuitBreakerRegistry implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly breakers = new Map<string, Breaker>();
  private readonly createdListeners = new Set<(breaker: Breaker) => void>();
  private readonly removedListeners = new Set<(breaker: Breaker) => void>();
  /** per breaker whose transitions are logged: the function detaching the log listener */
  private readonly transitionLogs = new Map<Breaker, () => void>();
  /** subscribers of `events(...)`, by event type */
  private readonly subscribers = new Map<BreakerEventName, Set<Subscriber<CircuitBreakerRegistryEvent>>>();
  /** per event type with subscribers: the function detaching its listener from each breaker */
  private readonly attached = new Map<BreakerEventName, Map<Breaker, () => void>>();
  /** per breaker attached to the store: resolves to its detach function (undefined when it failed) */
  private readonly storeAttachments = new Map<Breaker, Promise<(() => void) | undefined>>();
  /** per name of a removed breaker still being detached from the store: settles once it is */
  private readonly storeDetaching = new Map<string, Promise<void>>();
  /** whether the 90 % of `maxBreakers` warning was logged since the count last was below it */
  private nearLimitWarned = false;
  private readonly logger = new Logger(CIRCUIT_BREAKER_LOGGER_CONTEXT);
  /** the options of every breaker that has no entry of its own (see `optionsFor`) */
  private defaultOptions: CircuitBreakerOptions | null = null;
  private readonly hooks: BreakerHooks = {
    logger: {
      error: (message, error) => this.logger.error(message, error instanceof Error ? error.stack : error),
      warn: (message) => this.logger.warn(message),
    },
  };

  /**
   * Every event of every breaker, including breakers created later: `{ type, name, ...payload }`.
   * Listeners are attached on the first subscription and removed with the last (a `success` or
   * `failure` listener makes every call timed).
   */
  readonly events$: Observable<CircuitBreakerRegistryEvent> = this.events(BREAKER_EVENT_NAMES);

  constructor(
    @Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) private readonly options: ResolvedCircuitBreakerModuleOptions,
    @Optional() @Inject(CIRCUIT_BREAKER_DECLARATIONS) private readonly declarations?: DeclaredBreakerOptions,
    @Optional() @Inject(CIRCUIT_BREAKER_QUIET_TRANSITIONS) private readonly quietTransitions?: boolean,
  ) {}

  /** The breaker named `name`, or undefined when none was created. */
  get(name: string): Breaker | undefined {
    return this.breakers.get(name);
  }

  has(name: string): boolean {
    return this.breakers.has(name);
  }

  /**
   * The breaker named `name`, created on first use with `defaults ← options ← configs[extends] ←
   * breakers[name]` (`options` defaults to what `@CircuitBreaker` decorators declare for the name).
   * An existing breaker is returned as it is. Throws `CircuitBreakerNameError` (a
   * `CircuitBreakerConfigError`) for a name that does not match `^[A-Za-z0-9._:-]{1,128}$` or is
   * reserved (`events`, `dashboard`, `reset-all`), `CircuitBreakerLimitError` for a new name while the
   * registry holds `maxBreakers` breakers, and `CircuitBreakerConfigError` for invalid options.
   */
  getOrCreate(name: string, options?: CircuitBreakerConfigEntry): Breaker {
    const existing = this.breakers.get(name);
    if (existing !== undefined) return existing;
    const [problem] = breakerNameProblems(name, 'name');
    if (problem !== undefined) throw new CircuitBreakerNameError(problem);
    const max = this.options.maxBreakers;
    if (max !== undefined && this.breakers.size >= max) throw new CircuitBreakerLimitError(name, max);
    const breaker = new Breaker(name, this.optionsFor(name, options ?? this.declarations?.optionsFor(name)), this.hooks);
    if (!this.options.enabled) breaker.disable(); // before the log listener: no line per breaker at boot
    this.breakers.set(name, breaker);
    if (this.quietTransitions !== true) this.transitionLogs.set(breaker, breaker.on('stateChange', this.logTransition));
    // A breaker disabled by `enabled: false` stays out of the fleet: a shared OPEN must not reach it.
    if (this.options.store !== undefined && this.options.enabled) this.attachToStore(this.options.store, breaker);
    for (const type of this.attached.keys()) this.attach(type, breaker);
    if (max !== undefined && !this.nearLimitWarned && this.breakers.size >= nearLimitOf(max)) {
      this.nearLimitWarned = true;
      this.logger.warn(nearBreakerLimitMessage(this.breakers.size, max));
    }
    this.notify(this.createdListeners, breaker, createdListenerThrewMessage);
    return breaker;
  }

  /**
   * Removes a breaker that `getOrCreate` created for a dynamic name (a tenant, a host): it leaves
   * `names()`, `get()`, snapshots, metrics and the event streams, and every listener the registry
   * attached to it is detached (the transition log, `events$`, the store). Calls in flight on it
   * settle on the removed breaker, which nothing else sees any more; a later `getOrCreate(name)`
   * makes a fresh breaker. Returns false for an unknown name. Throws `CircuitBreakerError` for a name
   * the application declares: a `breakers` key, a `@CircuitBreaker` or an `@InjectCircuitBreaker` name.
   */
  remove(name: string): boolean {
    const breaker = this.breakers.get(name);
    if (breaker === undefined) return false;
    const declaredBy = this.declaredBy(name);
    if (declaredBy !== undefined) throw new CircuitBreakerError(removeDeclaredMessage(name, declaredBy));
    this.breakers.delete(name);
    this.transitionLogs.get(breaker)?.();
    this.transitionLogs.delete(breaker);
    for (const detaches of this.attached.values()) {
      detaches.get(breaker)?.();
      detaches.delete(breaker);
    }
    this.detachFromStore(breaker);
    breaker.dispose();
    const max = this.options.maxBreakers;
    if (max !== undefined && this.breakers.size < nearLimitOf(max)) this.nearLimitWarned = false;
    this.notify(this.removedListeners, breaker, removedListenerThrewMessage);
    return true;
  }

  /** Where the application declares `name`, or undefined for a name only `getOrCreate` used. */
  private declaredBy(name: string): string | undefined {
    const { breakers } = this.options;
    if (Object.hasOwn(breakers, name) && !isEnvironmentEntry(breakers[name])) return DECLARED_BY.configured;
    const method = this.declarations?.declaredNames?.().get(name);
    if (method !== undefined) return DECLARED_BY.decorated(method);
    // Names of this process: a class injecting `name` holds the breaker, so it must stay.
    return injectedBreakerNames().includes(name) ? DECLARED_BY.injected : undefined;
  }

  /**
   * The options of a new breaker. A name with no entry in `breakers` and nothing declared gets the
   * module's defaults: one shared object, so the engine resolves it once for thousands of breakers.
   */
  private optionsFor(name: string, declared: CircuitBreakerConfigEntry | undefined): CircuitBreakerOptions {
    if (declared === undefined && matchingBreakerKeys(this.options.breakers, name).length === 0) {
      return (this.defaultOptions ??= withNestFailureRule(breakerOptionsFor(this.options, name)));
    }
    return withNestFailureRule(breakerOptionsFor(this.options, name, declared));
  }

  /** The names of every breaker, sorted. */
  names(): string[] {
    return [...this.breakers.keys()].sort();
  }

  /** Every breaker's statistics with a summary (reading it may move OPEN → HALF_OPEN). */
  snapshot(): CircuitBreakerRegistrySnapshot {
    const summary = { total_breakers: 0, open: 0, half_open: 0, closed: 0, forced_open: 0, disabled: 0 };
    const breakers: Record<string, CircuitBreakerSnapshot> = {};
    for (const name of this.names()) {
      const snap = this.breakers.get(name)!.snapshot();
      breakers[name] = snap;
      summary.total_breakers++;
      summary[snap.state]++;
    }
    return { timestamp: new Date().toISOString(), summary: { ...summary, health: fleetHealth(summary) }, breakers };
  }

  /** Back to `closed` with statistics cleared. False (and nothing created) for an unknown name. */
  reset(name: string): boolean {
    const breaker = this.breakers.get(name);
    breaker?.reset();
    return breaker !== undefined;
  }

  resetAll(): void {
    for (const breaker of this.breakers.values()) breaker.reset();
  }

  /** `forced_open` until reset. False (and nothing created) for an unknown name. */
  forceOpen(name: string): boolean {
    const breaker = this.breakers.get(name);
    breaker?.forceOpen();
    return breaker !== undefined;
  }

  /** `disabled` until reset. False (and nothing created) for an unknown name. */
  disable(name: string): boolean {
    const breaker = this.breakers.get(name);
    breaker?.disable();
    return breaker !== undefined;
  }

  /** Events of the given types only (see `events$`), e.g. `events(['stateChange'])`: calls stay untimed. */
  events(types: readonly BreakerEventName[]): Observable<CircuitBreakerRegistryEvent> {
    if (!Array.isArray(types) || types.some((t) => !BREAKER_EVENT_NAMES.includes(t))) {
      throw new CircuitBreakerConfigError([{ path: 'events(types)', expected: REGISTRY_EXPECTED.eventTypes(BREAKER_EVENT_NAMES), value: types }]);
    }
    const wanted = [...new Set(types)];
    return new Observable<CircuitBreakerRegistryEvent>((subscriber) => {
      for (const type of wanted) this.subscribe(type, subscriber);
      return () => {
        for (const type of wanted) this.unsubscribe(type, subscriber);
      };
    });
  }

  /**
   * Calls `listener` with every breaker created from now on (for existing ones, iterate `names()`).
   * Returns the function that unsubscribes.
   */
  onBreakerCreated(listener: (breaker: Breaker) => void): () => void {
    return subscribeTo(this.createdListeners, listener);
  }

  /**
   * Calls `listener` with every breaker `remove()` takes out from now on, so that what was attached to
   * it in `onBreakerCreated` can be detached. Returns the function that unsubscribes.
   */
  onBreakerRemoved(listener: (breaker: Breaker) => void): () => void {
    return subscribeTo(this.removedListeners, listener);
  }

  private notify(listeners: ReadonlySet<(breaker: Breaker) => void>, breaker: Breaker, threw: (name: string) => string): void {
    for (const listener of listeners) {
      try {
        listener(breaker);
      } catch (error) {
        this.hooks.logger!.error(threw(breaker.name), error);
      }
    }
  }

  /**
   * Creates every breaker configured in `breakers` (entries from the environment excepted: they
   * configure the breaker they match), so that the management API, health and metrics list them
   * before their first call. Then warns about an environment entry that matches no breaker, and
   * about a decorated or injected name missing from a non-empty `breakers` (naming the closest one).
   */
  onModuleInit(): void {
    this.declarations?.scan?.();
    const { breakers } = this.options;
    const configured = Object.keys(breakers).filter((key) => !isEnvironmentEntry(breakers[key]));
    for (const name of configured) this.getOrCreate(name);
    const configuredSet = new Set(configured);
    const used = new Map(this.declarations?.declaredNames?.() ?? []);
    for (const name of this.breakers.keys()) if (!used.has(name) && !configuredSet.has(name)) used.set(name, '@InjectCircuitBreaker or getOrCreate');
    const known = [...new Set([...configured, ...used.keys()])];
    for (const key of Object.keys(breakers)) {
      if (isEnvironmentEntry(breakers[key]) && !known.some((name) => matchingBreakerKeys({ [key]: true }, name).length > 0)) {
        this.logger.warn(unmatchedEnvironmentMessage(key, known.sort()));
      }
    }
    if (configured.length === 0 || this.options.strict) return;
    const configuredOnly = Object.fromEntries(configured.map((key) => [key, true]));
    for (const [name, where] of used) {
      if (matchingBreakerKeys(configuredOnly, name).length === 0) this.logger.warn(unconfiguredNameMessage(name, where, closestName(name, configured)));
    }
  }

  /** Waits until every breaker created so far has loaded the fleet's shared state (or the store gave up). */
  async onApplicationBootstrap(): Promise<void> {
    await Promise.all(this.storeAttachments.values());
  }

  /**
   * Completes every event stream before Nest closes the HTTP server, which waits for open responses:
   * a client connected to `GET <management.path>/events` would keep `app.close()` waiting for good.
   * One turn of the event loop lets those responses end, so that the server closes their (then idle)
   * connections at once instead of after its keep-alive timeout.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.completeSubscribers();
    await new Promise((resolve) => setImmediate(resolve));
  }

  async onApplicationShutdown(): Promise<void> {
    for (const breaker of this.breakers.values()) breaker.dispose();
    this.completeSubscribers();
    const store = this.options.store;
    if (store === undefined) return;
    const attachments = [...this.storeAttachments.values()];
    this.storeAttachments.clear();
    for (const detach of await Promise.all(attachments)) detach?.();
    await Promise.all(this.storeDetaching.values());
    await store.close();
  }

  private completeSubscribers(): void {
    for (const set of [...this.subscribers.values()]) for (const subscriber of [...set]) subscriber.complete();
  }

  private attachToStore(store: CircuitBreakerStore, breaker: Breaker): void {
    // A store holds one breaker per name: a fresh breaker of a removed name waits for the old one's detach.
    const detaching = this.storeDetaching.get(breaker.name);
    const attached = detaching === undefined ? store.attach(breaker) : detaching.then(() => store.attach(breaker));
    this.storeAttachments.set(breaker, attached.then(
      (detach) => detach,
      (error: unknown) => {
        this.hooks.logger!.error(storeAttachFailedMessage(breaker.name), error);
        return undefined;
      },
    ));
  }

  /** Detaches a removed breaker from the store once its attachment has settled. */
  private detachFromStore(breaker: Breaker): void {
    const attachment = this.storeAttachments.get(breaker);
    if (attachment === undefined) return;
    this.storeAttachments.delete(breaker);
    const name = breaker.name;
    const detached = attachment
      .then((detach) => detach?.())
      .catch((error: unknown) => this.hooks.logger!.error(storeDetachFailedMessage(name), error))
      .then(() => {
        if (this.storeDetaching.get(name) === detached) this.storeDetaching.delete(name);
      });
    this.storeDetaching.set(name, detached);
  }

  private readonly logTransition = (event: StateChangeEvent): void => {
    const message = transitionMessage(event);
    if (event.to === 'open') this.logger.error(message);
    else if (event.to === 'forced_open') this.logger.warn(message);
    else this.logger.log(message);
  };

  private subscribe(type: BreakerEventName, subscriber: Subscriber<CircuitBreakerRegistryEvent>): void {
    let set = this.subscribers.get(type);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(type, set);
      this.attached.set(type, new Map());
      for (const breaker of this.breakers.values()) this.attach(type, breaker);
    }
    set.add(subscriber);
  }

  private unsubscribe(type: BreakerEventName, subscriber: Subscriber<CircuitBreakerRegistryEvent>): void {
    const set = this.subscribers.get(type);
    if (set === undefined || !set.delete(subscriber) || set.size > 0) return;
    this.subscribers.delete(type);
    for (const detach of this.attached.get(type)!.values()) detach();
    this.attached.delete(type);
  }

  private attach(type: BreakerEventName, breaker: Breaker): void {
    const detach = breaker.on(type, (event: BreakerEventMap[BreakerEventName]) => {
      const set = this.subscribers.get(type);
      if (set === undefined) return;
      const tagged = { type, ...event } as CircuitBreakerRegistryEvent;
      for (const subscriber of set) subscriber.next(tagged);
    });
    this.attached.get(type)!.set(breaker, detach);
  }
}

/** The count at which the registry warns that `maxBreakers` is near: 90 % of it, rounded up. */
function nearLimitOf(maxBreakers: number): number {
  return Math.ceil(maxBreakers * 0.9);
}

function subscribeTo<T>(listeners: Set<T>, listener: T): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
