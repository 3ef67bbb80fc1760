import { Readable } from 'node:stream';
import { register as defaultPromRegistry, type Registry } from 'prom-client';
import { type BreakerReading, escapeHelp, escapeLabelValue, type ReadingMetric, readBreaker, renderReadingLines } from './breaker-series.js';
import type { Breaker } from '../core/index.js';
import type { DurationHistogram } from './duration-histogram.js';

/** What `registerCircuitBreakerMetrics` left on a prom-client registry, so that its text can be streamed. */
interface Scrape {
  source: { names(): Iterable<string>; get(name: string): Breaker | undefined };
  /** our metric objects (the reading metrics and the histogram) */
  metrics: ReadonlySet<object>;
  histogram: DurationHistogram;
}

const SCRAPES = new WeakMap<Registry, Scrape>();

/**
 * Breakers per slice of a streamed scrape: a slice is read or rendered in one go (about 1–2 ms for
 * the widest metric, the histogram), and the event loop gets a turn between two slices.
 */
export const METRICS_SLICE = 500;
/** Label names of our series: a registry default label of one of these names is left out, as prom-client does. */
const OWN_LABELS = new Set(['name', 'state', 'from', 'to', 'le']);
const PROMETHEUS_CONTENT_TYPE = defaultPromRegistry.contentType;

export function registerScrape(registry: Registry, scrape: Scrape): void {
  SCRAPES.set(registry, scrape);
}

export function unregisterScrape(registry: Registry, histogram: DurationHistogram): void {
  if (SCRAPES.get(registry)?.histogram === histogram) SCRAPES.delete(registry);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The text of `registry.metrics()`, in slices: the same text (Prometheus text format, every metric of
 * the registry in its order), but the circuit breaker metrics are read and written
 * {@link METRICS_SLICE} breakers at a time with a turn of the event loop between slices, so that a
 * scrape of thousands of breakers never holds up requests for long. Other metrics of the registry are
 * written by prom-client, one at a time. Without the circuit breaker metrics on `registry`, or with
 * the OpenMetrics content type, yields `await registry.metrics()` as one piece.
 */
export async function* circuitBreakerMetricsText(registry: Registry = defaultPromRegistry): AsyncGenerator<string> {
  const scrape = SCRAPES.get(registry);
  if (scrape === undefined || registry.contentType !== PROMETHEUS_CONTENT_TYPE) {
    yield await registry.metrics();
    return;
  }
  const defaults = defaultLabelsText(registry);
  // Each breaker is read once per scrape (one snapshot), so that its series agree with each other.
  const names = Array.from(scrape.source.names());
  const readings: BreakerReading[] = [];
  for (let i = 0; i < names.length; i += METRICS_SLICE) {
    if (i > 0) await nextTurn();
    for (let j = i; j < Math.min(i + METRICS_SLICE, names.length); j++) {
      const breaker = scrape.source.get(names[j]!);
      if (breaker !== undefined) readings.push(readBreaker(names[j]!, breaker));
    }
  }
  let separator = '';
  for (const metric of registry.getMetricsAsArray()) {
    if (!scrape.metrics.has(metric)) {
      yield separator + (await registry.getSingleMetricAsString(metric.name));
    } else {
      const { name, help, type } = metric as unknown as { name: string; help: string; type: string };
      yield `${separator}# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;
      if ((metric as object) === scrape.histogram) {
        const series = scrape.histogram.seriesNames();
        for (let i = 0; i < series.length; i += METRICS_SLICE) {
          await nextTurn();
          yield scrape.histogram.renderLines(series.slice(i, i + METRICS_SLICE), defaults);
        }
      } else {
        const definition = (metric as unknown as ReadingMetric).definition;
        for (let i = 0; i < readings.length; i += METRICS_SLICE) {
          await nextTurn();
          yield renderReadingLines(definition, readings.slice(i, i + METRICS_SLICE), defaults);
        }
      }
    }
    separator = '\n\n';
  }
  yield '\n';
}

/**
 * {@link circuitBreakerMetricsText} as a Node stream, for a route of your own:
 * `return new StreamableFile(circuitBreakerMetricsStream(register), { type: register.contentType })`.
 */
export function circuitBreakerMetricsStream(registry: Registry = defaultPromRegistry): Readable {
  return Readable.from(circuitBreakerMetricsText(registry), { objectMode: false, encoding: 'utf8' });
}

/**
 * The registry's default labels (`registry.setDefaultLabels`) as `,k="v"` text. prom-client has no
 * getter for them; its registry keeps them in `_defaultLabels`.
 */
function defaultLabelsText(registry: Registry): string {
  const labels = (registry as unknown as { _defaultLabels?: Record<string, unknown> })._defaultLabels ?? {};
  let out = '';
  for (const [key, value] of Object.entries(labels)) {
    if (!OWN_LABELS.has(key)) out += `,${key}="${typeof value === 'string' ? escapeLabelValue(value) : String(value)}"`;
  }
  return out;
}
