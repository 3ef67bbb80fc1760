// Metadata keys, injection tokens and fixed names of the NestJS layer, in one place.

/**
 * Metadata key (on the decorated method's function) of the ordered array of wrapping layers that
 * method decorators push: `@CircuitBreaker` pushes `{ kind: 'breaker' }`, `@Retry` `{ kind: 'retry' }`.
 * Decorators run bottom-up, so index 0 is the layer nearest the method (the innermost).
 */
export const CIRCUIT_BREAKER_LAYERS = 'circuit_breaker:layers';

/** Token of the module options after validation (defaults applied, management merged). */
export const CIRCUIT_BREAKER_MODULE_OPTIONS = 'CIRCUIT_BREAKER_MODULE_OPTIONS';

/** Token of the options exactly as given to `forRoot` / returned by the `forRootAsync` factory. */
export const CIRCUIT_BREAKER_RAW_OPTIONS = 'CIRCUIT_BREAKER_RAW_OPTIONS';

/** Token of the breaker options that `@CircuitBreaker` decorators declare, collected at bootstrap. */
export const CIRCUIT_BREAKER_DECLARATIONS = 'CIRCUIT_BREAKER_DECLARATIONS';

/** Token (provided by `CircuitBreakerTestingModule`): `true` leaves state changes unlogged. */
export const CIRCUIT_BREAKER_QUIET_TRANSITIONS = 'CIRCUIT_BREAKER_QUIET_TRANSITIONS';

/** Prefix of the token that `@InjectCircuitBreaker(name)` injects. */
export const CIRCUIT_BREAKER_TOKEN_PREFIX = 'circuit_breaker:breaker:';

/** The context of every log line of this library. */
export const CIRCUIT_BREAKER_LOGGER_CONTEXT = 'CircuitBreaker';

/** What a breaker name of a registry must match (it appears in URLs, metrics labels, env names). */
export const BREAKER_NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Names a registry refuses: they are routes of the management API. */
export const RESERVED_BREAKER_NAMES: readonly string[] = ['events', 'dashboard', 'reset-all'];

/** @default management.path */
export const DEFAULT_MANAGEMENT_PATH = 'circuit-breakers';

// Metadata keys of optional peers, read without importing them (`@nestjs/microservices` and
// `@nestjs/websockets` are loaded only when a handler of theirs is protected; `@nestjs/graphql` never).
/** `@MessagePattern` / `@EventPattern` handlers (`@nestjs/microservices`) */
export const MICROSERVICE_PATTERN_METADATA = 'microservices:pattern';
/** `@Query` / `@Mutation` / `@Subscription` resolvers (`@nestjs/graphql`) */
export const GRAPHQL_RESOLVER_TYPE_METADATA = 'graphql:resolver_type';
/** `@ResolveField` resolvers (`@nestjs/graphql`) */
export const GRAPHQL_RESOLVE_PROPERTY_METADATA = 'graphql:resolve_property';
/** `@SubscribeMessage` handlers (`@nestjs/websockets`) */
export const WS_MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';

/** Token of the options of `CircuitBreakerMetricsModule.forRoot()` (`nestjs-circuit-breaker/prometheus`). */
export const CIRCUIT_BREAKER_METRICS_OPTIONS = 'CIRCUIT_BREAKER_METRICS_OPTIONS';
