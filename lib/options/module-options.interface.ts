import type { CanActivate, Type } from '@nestjs/common';
import type { CircuitBreakerOptions } from '../core/index.js';
import type { CircuitBreakerEventStreamLimits } from '../management/event-stream-clients.js';
import type { CircuitBreakerStore } from '../store/index.js';

/** Options of one configured breaker: engine options, optionally on top of a named config. */
export interface CircuitBreakerConfigEntry extends CircuitBreakerOptions {
  /** the name of an entry of `configs` this breaker starts from */
  extends?: string;
}

/** The management API (mounted only when given statically, see the README). */
export interface CircuitBreakerManagementOptions {
  /** while not `true`, every management route answers 404 @default false */
  enabled?: boolean;
  /** route prefix @default 'circuit-breakers' */
  path?: string;
  /** bearer token that authorizes writes (POST), compared in constant time */
  token?: string;
  /** guards (classes or instances) applied to every management route */
  guards?: (Type<CanActivate> | CanActivate)[];
  /** limits of the event stream `GET <path>/events`; see {@link CircuitBreakerEventStreamLimits} */
  events?: CircuitBreakerEventStreamLimits;
}

/** Options of `CircuitBreakerModule.forRoot()` (and what a `forRootAsync` factory returns). */
export interface CircuitBreakerModuleOptions {
  /** `false`: every breaker is `disabled` (calls pass, outcomes are counted) @default true */
  enabled?: boolean;
  /** options every breaker starts from (the lowest precedence) */
  defaults?: CircuitBreakerOptions;
  /**
   * Per-breaker options, the highest precedence. A key applies to the breaker of that name, and also to
   * a name that matches it case-insensitively with `-`, `.` and `:` read as `_` (as environment
   * variables spell names); several matching keys apply in key order.
   */
  breakers?: Record<string, CircuitBreakerConfigEntry>;
  /** named option sets that a breaker (or a decorator) pulls in with `extends` */
  configs?: Record<string, CircuitBreakerOptions>;
  /** `true`: a `@CircuitBreaker` name that no `breakers` key matches fails the boot @default false */
  strict?: boolean;
  /** the management API; see {@link CircuitBreakerManagementOptions} */
  management?: CircuitBreakerManagementOptions;
  /**
   * Shares breaker state with the other instances of the service, e.g. `new RedisCircuitBreakerStore({ client })`
   * from `nestjs-circuit-breaker/redis`. The registry attaches every breaker, waits for the shared state
   * at bootstrap and closes the store at shutdown (one store per application). @default none
   */
  store?: CircuitBreakerStore;
  /**
   * The most breakers the registry holds (configured, decorated, injected and `getOrCreate` ones
   * together): `getOrCreate` of a new name beyond it throws `CircuitBreakerLimitError`, and a warning
   * is logged when 90 % of it is reached. For breakers named after request data (a tenant, a host).
   * @default none (no limit)
   */
  maxBreakers?: number;
}

/** The extras of `forRoot` / `forRootAsync` (module definition, not runtime options). */
export interface CircuitBreakerModuleExtras {
  /** register the module globally @default true */
  isGlobal: boolean;
  /**
   * `forRoot`: the management options. `forRootAsync`: `{ path }` only — it mounts the management
   * controller at `path`; `enabled`, `token` and `guards` come from the factory.
   */
  management: CircuitBreakerManagementOptions | undefined;
}

/** The management options once resolved. */
export interface ResolvedManagementOptions {
  readonly enabled: boolean;
  readonly path: string;
  readonly token: string | undefined;
  readonly guards: readonly (Type<CanActivate> | CanActivate)[];
  /** as given, undefined when not given (the event stream applies the defaults) */
  readonly events: Readonly<CircuitBreakerEventStreamLimits> | undefined;
}

/** The module options once validated (the value of `CIRCUIT_BREAKER_MODULE_OPTIONS`). */
export interface ResolvedCircuitBreakerModuleOptions {
  readonly enabled: boolean;
  readonly defaults: Readonly<CircuitBreakerOptions>;
  readonly breakers: Readonly<Record<string, CircuitBreakerConfigEntry>>;
  readonly configs: Readonly<Record<string, CircuitBreakerOptions>>;
  readonly strict: boolean;
  /** undefined when no management options were given */
  readonly management: ResolvedManagementOptions | undefined;
  /** undefined when each instance runs on its own */
  readonly store: CircuitBreakerStore | undefined;
  /** undefined when there is no limit */
  readonly maxBreakers: number | undefined;
}
