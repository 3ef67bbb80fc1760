import { Counter, Gauge, type Metric, register as defaultPromRegistry, type Registry } from 'prom-client';
import {
  type Breaker,
  CIRCUIT_STATES,
  CircuitBreakerConfigError,
  type CircuitBreakerSnapshot,
  type ConfigProblem,
  type FailureEvent,
  type SuccessEvent,
  type TransitionCount,
} from '../core/index.js';
import { DurationHistogram } from './duration-histogram.js';
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

/** `circuit_breaker_state` values: the index in `CIRCUIT_STATES` (0 closed, 1 half_open, 2 open, 3 forced_open, 4 disabled). */
const STATE_VALUES: Readonly<Record<string, number>> = Object.fromEntries(CIRCUIT_STATES.map((state, i) => [state, i]));

/** What one scrape reads from one breaker. */
interface BreakerReading {
  name: string;
  snapshot: CircuitBreakerSnapshot;
  transitions: TransitionCount[];
}

type TotalKey = 'total_requests' | 'total_successes' | 'total_failures' | 'total_rejections' | 'total_timeouts';

const COUNTERS: readonly { name: (typeof CIRCUIT_BREAKER_METRIC_NAMES)[number]; help: string; key: TotalKey }[] = [
  { name: 'circuit_breaker_requests_total', help: 'Calls through the breaker (successes + failures + rejections); cleared by a reset', key: 'total_requests' },
  { name: 'circuit_breaker_successes_total', help: 'Calls that succeeded; cleared by a reset', key: 'total_successes' },
  { name: 'circuit_breaker_failures_total', help: 'Calls that failed, timeouts included; cleared by a reset', key: 'total_failures' },
  { name: 'circuit_breaker_rejections_total', help: 'Calls rejected without running (open, forced open, half-open full); cleared by a reset', key: 'total_rejections' },
  { name: 'circuit_breaker_timeouts_total', help: 'Calls that exceeded callTimeoutMs; cleared by a reset', key: 'total_timeouts' },
];

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
  const registers = [promRegistry];
  // Every collector of one scrape reads the same snapshots (prom-client calls them all in one tick), so
  // that e.g. requests_total = successes + failures + rejections holds within a scrape.
  let readings: BreakerReading[] | null = null;
  const read = (): BreakerReading[] => {
    if (readings === null) {
      const rows: BreakerReading[] = [];
      for (const name of source.names()) {
        const breaker = source.get(name);
        // The snapshot first: reading it may move OPEN → HALF_OPEN, which the transition counts then include.
        if (breaker !== undefined) rows.push({ name, snapshot: breaker.snapshot(), transitions: breaker.transitionCounts() });
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
  const add = <M extends Metric>(name: string, metric: M): M => {
    metrics.set(name, metric);
    return metric;
  };
  add('circuit_breaker_state', new Gauge({
    name: 'circuit_breaker_state',
    help: 'Current state: 0 closed, 1 half_open, 2 open, 3 forced_open, 4 disabled',
    labelNames: ['name'],
    registers,
    collect() {
      this.reset();
      for (const r of read()) this.set({ name: r.name }, STATE_VALUES[r.snapshot.state]!);
    },
  }));
  add('circuit_breaker_state_info', new Gauge({
    name: 'circuit_breaker_state_info',
    help: 'One series per state: 1 for the current state, 0 for the others (for sum by (state) and alerts)',
    labelNames: ['name', 'state'],
    registers,
    collect() {
      this.reset();
      for (const r of read()) for (const state of CIRCUIT_STATES) this.set({ name: r.name, state }, state === r.snapshot.state ? 1 : 0);
    },
  }));
  for (const counter of COUNTERS) {
    add(counter.name, new Counter({
      name: counter.name,
      help: counter.help,
      labelNames: ['name'],
      registers,
      collect() {
        this.reset();
        for (const r of read()) this.inc({ name: r.name }, r.snapshot[counter.key]);
      },
    }));
  }
  add('circuit_breaker_state_transitions_total', new Counter({
    name: 'circuit_breaker_state_transitions_total',
    help: 'State transitions by from and to state (never cleared, not even by a reset)',
    labelNames: ['name', 'from', 'to'],
    registers,
    collect() {
      this.reset();
      for (const r of read()) for (const t of r.transitions) this.inc({ name: r.name, from: t.from, to: t.to }, t.count);
    },
  }));
  add('circuit_breaker_success_rate', new Gauge({
    name: 'circuit_breaker_success_rate',
    help: 'Successes as a percentage of requests, one decimal (100 when nothing ran)',
    labelNames: ['name'],
    registers,
    collect() {
      this.reset();
      for (const r of read()) this.set({ name: r.name }, r.snapshot.success_rate);
    },
  }));
  const histogram = new DurationHistogram(
    'circuit_breaker_call_duration_seconds',
    observeDurations
      ? 'Duration of calls that succeeded or failed (rejected calls never run)'
      : 'Duration of calls that succeeded or failed; empty: observeCallDurations is off',
    options.buckets,
  );
  promRegistry.registerMetric(histogram as unknown as Metric);
  add('circuit_breaker_call_duration_seconds', histogram as unknown as Metric);

  const detachers: (() => void)[] = [];
  if (observeDurations) {
    const attach = (breaker: Breaker): void => {
      // One series per breaker, found once: an observation is a few additions.
      const series = histogram.seriesFor(breaker.name);
      // One listener per breaker, shared by success and failure: it only reads the duration.
      const observe = (event: SuccessEvent | FailureEvent): void => {
        // NaN: a call admitted before the listener was attached was not timed.
        if (event.durationMs === event.durationMs) series.observe(event.durationMs / 1000);
      };
      detachers.push(breaker.on('success', observe), breaker.on('failure', observe));
    };
    detachers.push(source.onBreakerCreated!(attach));
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
