import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { CircuitBreakerConfigError, type CircuitState, type ConfigProblem } from '../core/index.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { criticalBreakersDownMessage, HEALTH_EXPECTED } from './health.messages.js';

/** Options of {@link CircuitBreakerHealthIndicator.isHealthy}. */
export interface CircuitBreakerHealthOptions {
  /** the breakers to report, by name @default every breaker of the application */
  include?: readonly string[];
  /**
   * the breakers whose `open` or `forced_open` state makes the check `down` (`[]`: report only,
   * never down) @default every included breaker
   */
  critical?: readonly string[];
  /**
   * which breakers the details list: `'all'`, or `'not_closed'` — only those not `closed` (the rest
   * are counted in `closed_not_listed`), for applications with thousands of breakers, where a full
   * list makes every probe a megabyte @default 'all'
   */
  details?: 'all' | 'not_closed';
}

/** What the health details hold for one breaker. */
export interface CircuitBreakerHealthDetails {
  state: CircuitState;
  failure_count: number;
  success_rate: number;
  /** seconds until probes are admitted, while `open`; otherwise null */
  time_until_retry: number | null;
}

/** The data of the indicator's result, beside `status` (a type, not an interface: Terminus wants a record). */
export type CircuitBreakerHealthData = {
  breakers: Record<string, CircuitBreakerHealthDetails>;
  /** names in `include` / `critical` that no breaker has (yet): reported, never down */
  unknown?: string[];
  /** with `details: 'not_closed'`: how many closed breakers the details leave out */
  closed_not_listed?: number;
  /** why the check is down */
  message?: string;
};

const OPTION_KEYS = ['include', 'critical', 'details'] as const;
const DETAILS = ['all', 'not_closed'] as const;
/** States that reject every call: `half_open` is recovering, and stays up. */
const DOWN_STATES: ReadonlySet<CircuitState> = new Set<CircuitState>(['open', 'forced_open']);

/**
 * A Terminus health indicator over the application's circuit breakers, built on Terminus'
 * `HealthIndicatorService` (`@nestjs/terminus` 11 and 12). List it in the `providers` of the module of
 * your health controller, beside `TerminusModule` in its `imports`.
 *
 * @example
 * @Get('health/detailed')
 * @HealthCheck()
 * readiness() {
 *   return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { critical: ['payments'] })]);
 * }
 */
@Injectable()
export class CircuitBreakerHealthIndicator {
  constructor(
    private readonly registry: CircuitBreakerRegistry,
    private readonly healthIndicatorService: HealthIndicatorService,
  ) {}

  /**
   * `up` with each included breaker's `state`, `failure_count`, `success_rate` and
   * `time_until_retry` (with `details: 'not_closed'`, of those not closed); `down` when a breaker of
   * `critical` is `open` or `forced_open`. Reading the
   * states may move a breaker from `open` to `half_open` (its open period is over). Names of
   * `include` or `critical` that no breaker has are listed under `unknown` and never make it down
   * (a breaker that is created on first use has not rejected anything). Never creates a breaker.
   *
   * @param key the key of the result @default 'circuit_breakers'
   */
  async isHealthy<const Key extends string = 'circuit_breakers'>(
    key: Key = 'circuit_breakers' as Key,
    options: CircuitBreakerHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    checkArguments(key, options);
    const session = this.healthIndicatorService.check(key);
    const included = options.include ?? this.registry.names();
    const critical = options.critical ?? included;
    const all = options.details !== 'not_closed';
    const breakers: Record<string, CircuitBreakerHealthDetails> = {};
    const unknown: string[] = [];
    const down: { name: string; state: CircuitState }[] = [];
    let notListed = 0;
    // By default both are the registry's names (no duplicates): one pass, no set of 10k names.
    const everyBreaker = options.include === undefined && options.critical === undefined;
    for (const name of everyBreaker ? included : new Set([...included, ...critical])) {
      const breaker = this.registry.get(name);
      if (breaker === undefined) {
        unknown.push(name);
        continue;
      }
      if (!all && breaker.state === 'closed') {
        notListed++;
        continue;
      }
      const snapshot = breaker.snapshot();
      breakers[name] = {
        state: snapshot.state,
        failure_count: snapshot.failure_count,
        success_rate: snapshot.success_rate,
        time_until_retry: snapshot.time_until_retry ?? null,
      };
    }
    for (const name of everyBreaker ? Object.keys(breakers) : new Set(critical)) {
      const state = breakers[name]?.state;
      if (state !== undefined && DOWN_STATES.has(state)) down.push({ name, state });
    }
    const data: CircuitBreakerHealthData = { breakers };
    if (!all) data.closed_not_listed = notListed;
    if (unknown.length > 0) data.unknown = unknown;
    if (down.length === 0) return session.up(data) as HealthIndicatorResult<Key>;
    data.message = criticalBreakersDownMessage(down);
    return session.down(data) as HealthIndicatorResult<Key>;
  }
}

function checkArguments(key: unknown, options: unknown): void {
  const problems: ConfigProblem[] = [];
  if (typeof key !== 'string' || key === '') problems.push({ path: 'isHealthy(key)', expected: HEALTH_EXPECTED.key, value: key });
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    problems.push({ path: 'isHealthy(key, options)', expected: HEALTH_EXPECTED.options, value: options });
  } else {
    for (const [name, value] of Object.entries(options)) {
      const path = `isHealthy(key, options).${name}`;
      if (!(OPTION_KEYS as readonly string[]).includes(name)) problems.push({ path, expected: HEALTH_EXPECTED.unknownKey(OPTION_KEYS), value });
      else if (name === 'details') {
        if (value !== undefined && !(DETAILS as readonly unknown[]).includes(value)) problems.push({ path, expected: HEALTH_EXPECTED.details(DETAILS), value });
      } else if (value !== undefined && (!Array.isArray(value) || value.some((n) => typeof n !== 'string'))) {
        problems.push({ path, expected: HEALTH_EXPECTED.names, value });
      }
    }
  }
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
}
