import { afterEach, describe, expect, it } from '@jest/globals';
import { register as defaultPromRegistry, Registry } from 'prom-client';
import { Breaker, CircuitBreakerConfigError, type CircuitBreakerOptions } from '../core/index.js';
import { FakeClock } from '../testing/fake-clock.js';
import { CIRCUIT_BREAKER_METRIC_NAMES, registerCircuitBreakerMetrics } from './circuit-breaker-metrics.js';

/** A registry of breakers outside Nest: what `registerCircuitBreakerMetrics` needs from one. */
class Breakers {
  private readonly map = new Map<string, Breaker>();
  private readonly created = new Set<(breaker: Breaker) => void>();
  readonly clock = new FakeClock();

  add(name: string, options: CircuitBreakerOptions = {}): Breaker {
    const breaker = new Breaker(name, { clock: this.clock, ...options });
    this.map.set(name, breaker);
    for (const listener of this.created) listener(breaker);
    return breaker;
  }
  names(): string[] {
    return [...this.map.keys()].sort();
  }
  get(name: string): Breaker | undefined {
    return this.map.get(name);
  }
  onBreakerCreated(listener: (breaker: Breaker) => void): () => void {
    this.created.add(listener);
    return () => this.created.delete(listener);
  }
}

const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

async function fail(breaker: Breaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await breaker.execute(boom).catch(() => undefined);
}

/** The value of one series as a scrape sees it (undefined when the series is absent). */
async function value(registry: Registry, metric: string, labels: Record<string, string>): Promise<number | undefined> {
  const json = await registry.getMetricsAsJSON();
  // A histogram's series carry their own names (`_bucket`, `_sum`, `_count`).
  const family = json.find((m) => m.name === metric) ?? json.find((m) => String(m.type) === 'histogram' && metric.startsWith(`${m.name}_`));
  if (family === undefined) throw new Error(`metric ${metric} is not registered`);
  const series = family.values.find((v) => ((v as { metricName?: string }).metricName ?? family.name) === metric
    && Object.keys(v.labels).length === Object.keys(labels).length
    && Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
  return series?.value;
}

describe('registerCircuitBreakerMetrics', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });
  const register = (...args: Parameters<typeof registerCircuitBreakerMetrics>) => {
    const unregister = registerCircuitBreakerMetrics(...args);
    cleanups.push(unregister);
    return unregister;
  };

  it('exports the state as 0 closed, 1 half_open, 2 open, 3 forced_open, 4 disabled', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    register(breakers, registry);
    breakers.add('a');
    const open = breakers.add('b', { failureThreshold: 1, resetTimeoutMs: 1_000 });
    const halfOpen = breakers.add('c', { failureThreshold: 1, resetTimeoutMs: 500 });
    breakers.add('d').forceOpen();
    breakers.add('e').disable();
    await fail(open, 1);
    await fail(halfOpen, 1);
    breakers.clock.advance(600); // c's open period is over: the scrape itself moves it to half_open

    expect(await value(registry, 'circuit_breaker_state', { name: 'a' })).toBe(0);
    expect(await value(registry, 'circuit_breaker_state', { name: 'b' })).toBe(2);
    expect(await value(registry, 'circuit_breaker_state', { name: 'c' })).toBe(1);
    expect(await value(registry, 'circuit_breaker_state', { name: 'd' })).toBe(3);
    expect(await value(registry, 'circuit_breaker_state', { name: 'e' })).toBe(4);
    expect(await value(registry, 'circuit_breaker_state_transitions_total', { name: 'c', from: 'open', to: 'half_open' })).toBe(1);
  });

  it('exports circuit_breaker_state_info: one series per state, 1 for the current one and 0 for the others', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    register(breakers, registry);
    const b = breakers.add('b', { failureThreshold: 1, resetTimeoutMs: 1_000 });
    const states = async () => {
      const series: Record<string, number | undefined> = {};
      for (const state of ['closed', 'half_open', 'open', 'forced_open', 'disabled']) series[state] = await value(registry, 'circuit_breaker_state_info', { name: 'b', state });
      return series;
    };
    expect(await states()).toEqual({ closed: 1, half_open: 0, open: 0, forced_open: 0, disabled: 0 });
    await fail(b, 1);
    expect(await states()).toEqual({ closed: 0, half_open: 0, open: 1, forced_open: 0, disabled: 0 });
    breakers.clock.advance(1_000);
    expect(await states()).toEqual({ closed: 0, half_open: 1, open: 0, forced_open: 0, disabled: 0 });
    expect(await value(registry, 'circuit_breaker_state', { name: 'b' })).toBe(1);
  });

  it('exports the totals of the snapshot, the success rate and the transitions, read at scrape time', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    register(breakers, registry);
    const payments = breakers.add('payments', { failureThreshold: 3, callTimeoutMs: 5 });
    for (let i = 0; i < 6; i++) await payments.execute(ok);
    await payments.execute(() => new Promise(() => undefined)).catch(() => undefined); // a timeout, a failure
    await fail(payments, 2); // third failure in a row: open
    await fail(payments, 4); // rejected
    const snap = payments.snapshot();
    expect(snap.state).toBe('open');

    const labels = { name: 'payments' };
    expect(await value(registry, 'circuit_breaker_requests_total', labels)).toBe(snap.total_requests);
    expect(await value(registry, 'circuit_breaker_successes_total', labels)).toBe(6);
    expect(await value(registry, 'circuit_breaker_failures_total', labels)).toBe(3);
    expect(await value(registry, 'circuit_breaker_rejections_total', labels)).toBe(4);
    expect(await value(registry, 'circuit_breaker_timeouts_total', labels)).toBe(1);
    expect(await value(registry, 'circuit_breaker_success_rate', labels)).toBe(snap.success_rate);
    expect(await value(registry, 'circuit_breaker_state_transitions_total', { name: 'payments', from: 'closed', to: 'open' })).toBe(1);

    // A reset clears the totals (a counter reset for Prometheus) but never the transition counts.
    payments.reset();
    expect(await value(registry, 'circuit_breaker_requests_total', labels)).toBe(0);
    expect(await value(registry, 'circuit_breaker_success_rate', labels)).toBe(100);
    expect(await value(registry, 'circuit_breaker_state_transitions_total', { name: 'payments', from: 'closed', to: 'open' })).toBe(1);
    expect(await value(registry, 'circuit_breaker_state_transitions_total', { name: 'payments', from: 'open', to: 'closed' })).toBe(1);
  });

  it('keeps one scrape consistent: requests = successes + failures + rejections in the text format', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    register(breakers, registry);
    const b = breakers.add('x', { failureThreshold: 2 });
    await b.execute(ok);
    await fail(b, 3);
    const text = await registry.metrics();
    const read = (metric: string) => Number(new RegExp(`^${metric}\\{name="x"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(read('circuit_breaker_requests_total')).toBe(4);
    expect(read('circuit_breaker_successes_total') + read('circuit_breaker_failures_total') + read('circuit_breaker_rejections_total')).toBe(4);
  });

  it('adds no listener to any breaker and leaves the duration histogram empty with observeCallDurations: false', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    const before = breakers.add('early');
    register(breakers, registry, { observeCallDurations: false });
    const after = breakers.add('late');
    await before.execute(ok);
    await after.execute(ok);
    expect(before.listenerCount()).toBe(0);
    expect(after.listenerCount()).toBe(0);
    const json = await registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'circuit_breaker_call_duration_seconds')?.values).toEqual([]);
  });

  it('feeds the duration histogram from every breaker, existing and later ones, with observeCallDurations', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    const early = breakers.add('early');
    const unregister = register(breakers, registry, { observeCallDurations: true, buckets: [0.1, 1] });
    const late = breakers.add('late');
    await early.execute(() => {
      breakers.clock.advance(250);
      return Promise.resolve(1);
    });
    await late.execute(ok);
    await fail(late, 1);

    expect(await value(registry, 'circuit_breaker_call_duration_seconds_count', { name: 'early' })).toBe(1);
    expect(await value(registry, 'circuit_breaker_call_duration_seconds_sum', { name: 'early' })).toBe(0.25);
    expect(await value(registry, 'circuit_breaker_call_duration_seconds_bucket', { name: 'early', le: '0.1' })).toBe(0);
    expect(await value(registry, 'circuit_breaker_call_duration_seconds_bucket', { name: 'early', le: '1' })).toBe(1);
    expect(await value(registry, 'circuit_breaker_call_duration_seconds_count', { name: 'late' })).toBe(2);

    unregister();
    expect(early.listenerCount()).toBe(0);
    expect(late.listenerCount()).toBe(0);
    expect(breakers.add('later').listenerCount()).toBe(0);
  });

  it('refuses a second registration on one prom registry, naming the metric, and leaves the first one working', async () => {
    const breakers = new Breakers();
    const registry = new Registry();
    register(breakers, registry);
    breakers.add('a').forceOpen();
    expect(() => registerCircuitBreakerMetrics(new Breakers(), registry)).toThrow(
      /already holds a metric named 'circuit_breaker_state'.*a registry each/s,
    );
    expect(await value(registry, 'circuit_breaker_state', { name: 'a' })).toBe(3);
    // Another registry is fine: two applications in one process.
    register(new Breakers(), new Registry());
  });

  it('unregisters every metric (idempotently), after which the registry accepts them again', () => {
    const registry = new Registry();
    const unregister = registerCircuitBreakerMetrics(new Breakers(), registry);
    expect(CIRCUIT_BREAKER_METRIC_NAMES.map((name) => registry.getSingleMetric(name) !== undefined)).toEqual(CIRCUIT_BREAKER_METRIC_NAMES.map(() => true));
    unregister();
    unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
    register(new Breakers(), registry);
    expect(registry.getMetricsAsArray()).toHaveLength(CIRCUIT_BREAKER_METRIC_NAMES.length);
  });

  it("uses prom-client's default registry when none is given", async () => {
    const breakers = new Breakers();
    register(breakers);
    breakers.add('default-registry').disable();
    expect(await value(defaultPromRegistry, 'circuit_breaker_state', { name: 'default-registry' })).toBe(4);
  });

  it('rejects bad arguments with every problem named', () => {
    const registry = new Registry();
    const call = () => registerCircuitBreakerMetrics({ names: [] } as never, {} as never, { buckets: [1, 0.5], colour: 'red' } as never);
    expect(call).toThrow(CircuitBreakerConfigError);
    expect(call).toThrow(/circuitBreakerRegistry: expected a CircuitBreakerRegistry/);
    expect(call).toThrow(/promRegistry: expected a prom-client Registry/);
    expect(call).toThrow(/options\.buckets: expected a non-empty array .* increasing order/);
    expect(call).toThrow(/options\.colour: unknown option \(known: observeCallDurations, buckets\)/);
    const withoutCreated = { names: () => [], get: () => undefined };
    expect(() => registerCircuitBreakerMetrics(withoutCreated, registry, { observeCallDurations: true })).toThrow(/onBreakerCreated/);
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});
