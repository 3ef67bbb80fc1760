import type { MetricValueWithName } from 'prom-client';
import { escapeLabelValue, formatValue } from './breaker-series.js';

/** prom-client's default histogram buckets, in seconds. */
const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One breaker's series: a count per bucket (not cumulative), the sum and the count. */
export interface DurationSeries {
  observe(seconds: number): void;
}

class Series implements DurationSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/**
 * `circuit_breaker_call_duration_seconds` as a prom-client metric of our own: a call records into
 * its breaker's series with a few additions (no label hashing or validation per observation, as a
 * prom-client `Histogram` does), and a scrape renders every series in the histogram format.
 */
export class DurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[] | undefined,
  ) {
    this.bounds = [...new Set(buckets ?? DEFAULT_BUCKETS)].sort((a, b) => a - b);
  }

  /** The series of breaker `breakerName` (created empty on first use: it shows once it has a call). */
  seriesFor(breakerName: string): DurationSeries {
    let series = this.series.get(breakerName);
    if (series === undefined) this.series.set(breakerName, (series = new Series(this.bounds)));
    return series;
  }

  /** Forgets the series of a breaker that was removed from its registry. */
  drop(breakerName: string): void {
    this.series.delete(breakerName);
  }

  /** The breakers with a series, in the order prom-client's `metrics()` lists them. */
  seriesNames(): string[] {
    return Array.from(this.series.keys());
  }

  /**
   * The sample lines of the breakers `names` (those with a call), each after a newline, as
   * prom-client's `metrics()` writes them; `defaultLabels` is the `,k="v"` text of the registry's
   * default labels (or '').
   */
  renderLines(names: readonly string[], defaultLabels: string): string {
    let out = '';
    const bucket = `\n${this.name}_bucket{le="`;
    for (const name of names) {
      const s = this.series.get(name);
      if (s === undefined || s.count === 0) continue;
      const labels = `name="${escapeLabelValue(name)}"${defaultLabels}}`;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        out += `${bucket}${this.bounds[i]}",${labels} ${cumulative}`;
      }
      out += `${bucket}+Inf",${labels} ${s.count}\n${this.name}_sum{${labels} ${formatValue(s.sum)}\n${this.name}_count{${labels} ${s.count}`;
    }
    return out;
  }

  /** What prom-client's registry reads at a scrape (`metrics()`, `getMetricsAsJSON()`). */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const [name, s] of this.series) {
      if (s.count === 0) continue;
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le, name }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', name }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { name }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { name }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
