import type { MetricValueWithName } from 'prom-client';
import { type Breaker, CIRCUIT_STATES, type CircuitBreakerSnapshot, type TransitionCount } from '../core/index.js';

/** What one scrape reads from one breaker: one snapshot, so that its series agree with each other. */
export interface BreakerReading {
  name: string;
  snapshot: CircuitBreakerSnapshot;
  transitions: TransitionCount[];
  /** `name="<escaped name>"`, made once per scrape for every line of the breaker (streamed text only) */
  label?: string;
}

/** Reads one breaker for a scrape. */
export function readBreaker(name: string, breaker: Breaker): BreakerReading {
  // The snapshot first: reading it may move OPEN → HALF_OPEN, which the transition counts then include.
  return { name, snapshot: breaker.snapshot(), transitions: breaker.transitionCounts() };
}

/** Labels of one series beyond `name`, as [label, value] pairs in output order (null: none). */
type ExtraLabels = readonly (readonly [string, string])[] | null;
type Emit = (extra: ExtraLabels, value: number) => void;

/** One metric of ours whose series are read from the breakers at scrape time. */
export interface ReadingMetricDefinition {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  /** the series of one breaker */
  series(reading: BreakerReading, emit: Emit): void;
}

/** `circuit_breaker_state` values: the index in `CIRCUIT_STATES` (0 closed, 1 half_open, 2 open, 3 forced_open, 4 disabled). */
const STATE_VALUES: Readonly<Record<string, number>> = Object.fromEntries(CIRCUIT_STATES.map((state, i) => [state, i]));
const STATE_LABELS = CIRCUIT_STATES.map((state) => [['state', state] as const]);

type TotalKey = 'total_requests' | 'total_successes' | 'total_failures' | 'total_rejections' | 'total_timeouts';
const total = (name: string, help: string, key: TotalKey): ReadingMetricDefinition => ({
  name,
  help,
  type: 'counter',
  series: (r, emit) => emit(null, r.snapshot[key]),
});

/** Every metric read from snapshots, in the order they are registered (the histogram comes after them). */
export const READING_METRICS: readonly ReadingMetricDefinition[] = [
  {
    name: 'circuit_breaker_state',
    help: 'Current state: 0 closed, 1 half_open, 2 open, 3 forced_open, 4 disabled',
    type: 'gauge',
    series: (r, emit) => emit(null, STATE_VALUES[r.snapshot.state]!),
  },
  {
    name: 'circuit_breaker_state_info',
    help: 'One series per state: 1 for the current state, 0 for the others (for sum by (state) and alerts)',
    type: 'gauge',
    series: (r, emit) => {
      for (let i = 0; i < CIRCUIT_STATES.length; i++) emit(STATE_LABELS[i]!, CIRCUIT_STATES[i] === r.snapshot.state ? 1 : 0);
    },
  },
  total('circuit_breaker_requests_total', 'Calls through the breaker (successes + failures + rejections); cleared by a reset', 'total_requests'),
  total('circuit_breaker_successes_total', 'Calls that succeeded; cleared by a reset', 'total_successes'),
  total('circuit_breaker_failures_total', 'Calls that failed, timeouts included; cleared by a reset', 'total_failures'),
  total('circuit_breaker_rejections_total', 'Calls rejected without running (open, forced open, half-open full); cleared by a reset', 'total_rejections'),
  total('circuit_breaker_timeouts_total', 'Calls that exceeded callTimeoutMs; cleared by a reset', 'total_timeouts'),
  {
    name: 'circuit_breaker_state_transitions_total',
    help: 'State transitions by from and to state (never cleared, not even by a reset)',
    type: 'counter',
    series: (r, emit) => {
      for (const t of r.transitions) emit([['from', t.from], ['to', t.to]], t.count);
    },
  },
  {
    name: 'circuit_breaker_success_rate',
    help: 'Successes as a percentage of requests, one decimal (100 when nothing ran)',
    type: 'gauge',
    series: (r, emit) => emit(null, r.snapshot.success_rate),
  },
];

/**
 * One of {@link READING_METRICS} as a prom-client metric: prom-client's `metrics()` and
 * `getMetricsAsJSON()` call `get()`, which builds the values straight from the scrape's readings
 * (no label hashing, no per-scrape reset of a label map, as a prom-client `Gauge` with `collect()` does).
 */
export class ReadingMetric {
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';

  constructor(
    readonly definition: ReadingMetricDefinition,
    private readonly read: () => readonly BreakerReading[],
  ) {
    this.name = definition.name;
    this.help = definition.help;
    this.type = definition.type;
  }

  async get(): Promise<{ name: string; help: string; type: 'gauge' | 'counter'; aggregator: 'sum'; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const r of this.read()) {
      this.definition.series(r, (extra, value) => {
        const labels: Record<string, string> = { name: r.name };
        if (extra !== null) for (const [k, v] of extra) labels[k] = v;
        values.push({ labels, value, metricName: this.name });
      });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The values live in the breakers: nothing to reset here. */
  reset(): void {}
}

/** A label value as the Prometheus text format writes it (as prom-client escapes it). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A HELP text as the Prometheus text format writes it. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client writes it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return `${value}`;
}

/**
 * The sample lines of `definition` for `readings`, each after a newline (as they follow the `# TYPE`
 * line), in the text format and order of prom-client's `metrics()`. `defaultLabels` is the `,k="v"`
 * text of the registry's default labels (or '').
 */
export function renderReadingLines(definition: ReadingMetricDefinition, readings: readonly BreakerReading[], defaultLabels: string): string {
  let out = '';
  const metric = definition.name;
  for (const r of readings) {
    const head = `${metric}{${(r.label ??= `name="${escapeLabelValue(r.name)}"`)}`;
    definition.series(r, (extra, value) => {
      let labels = head;
      if (extra !== null) for (const [k, v] of extra) labels += `,${k}="${escapeLabelValue(v)}"`;
      out += `\n${labels}${defaultLabels}} ${formatValue(value)}`;
    });
  }
  return out;
}
