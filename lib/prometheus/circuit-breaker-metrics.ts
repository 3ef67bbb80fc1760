import { type Metric, register as defaultPromRegistry, type Registry } from 'prom-client';
import { type Breaker, CircuitBreakerConfigError, type ConfigProblem, type FailureEvent, type SuccessEvent } from '../core/index.js';
import { type BreakerReading, READING_METRICS, ReadingMetric, readBreaker } from './breaker-series.js';
import { DurationHistogram, type DurationSeries } from './duration-histogram.js';
import { registerScrape, unregisterScrape } from './metrics-text.js';
import { alreadyRegisteredMessage, METRICS_EXPECTED } from './metrics.messages.js';

/**
 * Where the collectors find the breakers at scrape time. `CircuitBreakerRegistry` is one; outside Nest,
 * any object with `names()` and `get(name)` will do.
 */
export interface CircuitBreakerMetricsSource {
  names(): Iterable<string>;
  get(name: string): Breaker | undefined;
  /** needed to time the calls of breakers created later (`observeCallDurations`, on by default) */
  onBreakerCreated?(listener: (breaker: Breaker) => void): () => void;
  /** lets a removed breaker (`registry.remove(name)`) leave the duration histogram */
  onBreakerRemoved?(listener: (breaker: Breaker) => void): () => void;
}

/** Options of `registerCircuitBreakerMetrics` (and of `CircuitBreakerMetricsModule.forRoot`). */
export interface CircuitBreakerMetricsOptions {
  /**
   * Feed `circuit_breaker_call_duration_seconds` with every call's duration (as Resilience4j does by
   * default). It puts a `success` and a `failure` listener on every breaker, which makes every call
   * timed (two clock reads and one observation per call: see docs/operations.md for the
   * cost); `false` leaves the histogram registered and empty.
   * @default true
   */
  observeCallDurations?: boolean;
  /** histogram buckets, in seconds @default prom-client's defaults (0.005 … 10) */
  buckets?: number[];
}

/** The names of every metric, in the order they are registered. */
export const CIRCUIT_BREAKER_METRIC_NAMES = [
  'circuit_breaker_state',
  'circuit_breaker_state_info',
  'circuit_breaker_requests_total',
  'circuit_breaker_successes_total',
  'circuit_breaker_failures_total',
  'circuit_breaker_rejections_total',
  'circuit_breaker_timeouts_total',
  'circuit_breaker_state_transitions_total',
  'circuit_breaker_success_rate',
  'circuit_breaker_call_duration_seconds',
] as const;

const OPTION_KEYS: readonly (keyof CircuitBreakerMetricsOptions)[] = ['observeCallDurations', 'buckets'];

/**
 * Registers the circuit breaker metrics (README "Metrics") on a prom-client registry (default: prom-client's
 * default `register`) and returns the function that removes them again. Values are read from the
 * breakers at scrape time; on the call path only the duration histogram (`observeCallDurations`, on by default).
 * Throws when the registry already holds one of the metrics (two applications in one process need a
 * prom-client registry each).
 *
 * @example
 * const unregister = registerCircuitBreakerMetrics(app.get(CircuitBreakerRegistry));
 */
export function registerCircuitBreakerMetrics(
  circuitBreakerRegistry: CircuitBreakerMetricsSource,
  promRegistry: Registry = defaultPromRegistry,
  options: CircuitBreakerMetricsOptions = {},
): () => void {
  const problems = [...sourceProblems(circuitBreakerRegistry), ...promRegistryProblems(promRegistry), ...metricsOptionProblems(options)];
  // On by default for a registry; explicitly on for a source that cannot report new breakers is an error.
  const observeDurations = options.observeCallDurations ?? typeof circuitBreakerRegistry?.onBreakerCreated === 'function';
  if (problems.length === 0 && options.observeCallDurations === true && typeof circuitBreakerRegistry.onBreakerCreated !== 'function') {
    problems.push({ path: 'circuitBreakerRegistry', expected: METRICS_EXPECTED.onBreakerCreated, value: circuitBreakerRegistry });
  }
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  // Check every name first, so that a refusal leaves nothing half-registered.
  const taken = CIRCUIT_BREAKER_METRIC_NAMES.find((name) => promRegistry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) throw new Error(alreadyRegisteredMessage(taken));

  const source = circuitBreakerRegistry;
  // Every collector of one scrape reads the same snapshots (prom-client calls them all in one tick), so
  // that e.g. requests_total = successes + failures + rejections holds within a scrape.
  let readings: BreakerReading[] | null = null;
  const read = (): BreakerReading[] => {
    if (readings === null) {
      const rows: BreakerReading[] = [];
      for (const name of source.names()) {
        const breaker = source.get(name);
        if (breaker !== undefined) rows.push(readBreaker(name, breaker));
      }
      readings = rows;
      queueMicrotask(() => {
        readings = null;
      });
    }
    return readings;
  };

  /** what we registered, by name: unregistering removes only these */
  const metrics = new Map<string, Metric>();
  for (const definition of READING_METRICS) {
    const metric = new ReadingMetric(definition, read) as unknown as Metric;
    promRegistry.registerMetric(metric);
    metrics.set(definition.name, metric);
  }
  const histogram = new DurationHistogram(
    'circuit_breaker_call_duration_seconds',
    observeDurations
      ? 'Duration of calls that succeeded or failed (rejected calls never run)'
      : 'Duration of calls that succeeded or failed; empty: observeCallDurations is off',
    options.buckets,
  );
  promRegistry.registerMetric(histogram as unknown as Metric);
  metrics.set(histogram.name, histogram as unknown as Metric);
  registerScrape(promRegistry, { source, metrics: new Set(metrics.values()), histogram });

  const detachers: (() => void)[] = [];
  /** each timed breaker's listeners, to detach when it is removed from the registry */
  const timed = new Map<Breaker, () => void>();
  if (observeDurations) {
    const attach = (breaker: Breaker): void => {
      // One series per breaker, made at its first call and then kept: an observation is a few additions.
      let series: DurationSeries | null = null;
      // One listener per breaker, shared by success and failure: it only reads the duration.
      const observe = (event: SuccessEvent | FailureEvent): void => {
        // NaN: a call admitted before the listener was attached was not timed.
        if (event.durationMs === event.durationMs) (series ??= histogram.seriesFor(breaker.name)).observe(event.durationMs / 1000);
      };
      const offSuccess = breaker.on('success', observe);
      const offFailure = breaker.on('failure', observe);
      timed.set(breaker, () => {
        offSuccess();
        offFailure();
      });
    };
    detachers.push(source.onBreakerCreated!(attach));
    if (typeof source.onBreakerRemoved === 'function') {
      detachers.push(source.onBreakerRemoved((breaker) => {
        timed.get(breaker)?.();
        timed.delete(breaker);
        histogram.drop(breaker.name);
      }));
    }
    detachers.push(() => {
      for (const detach of timed.values()) detach();
      timed.clear();
    });
    for (const name of source.names()) {
      const breaker = source.get(name);
      if (breaker !== undefined) attach(breaker);
    }
  }

  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    for (const detach of detachers.splice(0)) detach();
    // Only our own metrics: a metric registered under one of these names since is someone else's.
    for (const [name, metric] of metrics) if (promRegistry.getSingleMetric(name) === metric) promRegistry.removeSingleMetric(name);
    unregisterScrape(promRegistry, histogram);
  };
}

/** Problems of `CircuitBreakerMetricsOptions`; `path` prefixes each problem's path. */
export function metricsOptionProblems(options: unknown, path = 'options'): ConfigProblem[] {
  if (options === undefined) return [];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return [{ path, expected: METRICS_EXPECTED.options, value: options }];
  const problems: ConfigProblem[] = [];
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) problems.push({ path: `${path}.${key}`, expected: METRICS_EXPECTED.unknownKey(OPTION_KEYS), value: o[key] });
  }
  if (o.observeCallDurations !== undefined && typeof o.observeCallDurations !== 'boolean') {
    problems.push({ path: `${path}.observeCallDurations`, expected: METRICS_EXPECTED.boolean, value: o.observeCallDurations });
  }
  const b = o.buckets;
  if (b !== undefined) {
    const ok = Array.isArray(b) && b.length > 0
      && b.every((v, i) => typeof v === 'number' && Number.isFinite(v) && v > 0 && (i === 0 || v > (b[i - 1] as number)));
    if (!ok) problems.push({ path: `${path}.buckets`, expected: METRICS_EXPECTED.buckets, value: b });
  }
  return problems;
}

function sourceProblems(source: unknown): ConfigProblem[] {
  const s = source as Partial<CircuitBreakerMetricsSource> | null;
  const ok = typeof s === 'object' && s !== null && typeof s.names === 'function' && typeof s.get === 'function';
  return ok ? [] : [{ path: 'circuitBreakerRegistry', expected: METRICS_EXPECTED.source, value: source }];
}

/** Problems of a prom-client registry given by the user. */
export function promRegistryProblems(registry: unknown, path = 'promRegistry'): ConfigProblem[] {
  const r = registry as Partial<Registry> | null;
  const ok = typeof r === 'object' && r !== null && typeof r.getSingleMetric === 'function'
    && typeof r.registerMetric === 'function' && typeof r.removeSingleMetric === 'function';
  return ok ? [] : [{ path, expected: METRICS_EXPECTED.promRegistry, value: registry }];
}
