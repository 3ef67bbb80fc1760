import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, type INestApplication, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, type MetricData, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import request from 'supertest';
import { CircuitBreaker, CircuitBreakerExceptionFilter, CircuitBreakerModule, CircuitBreakerRegistry, type CircuitBreakerSnapshot } from '../../lib/index.js';
import { CIRCUIT_BREAKER_OTEL_DURATION_BUCKETS, CIRCUIT_BREAKER_OTEL_INSTRUMENTS, CircuitBreakerOtelModule } from '../../lib/opentelemetry/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const RESET_TIMEOUT_MS = 1_000;

@Injectable()
class Dependencies {
  failing = false;

  @CircuitBreaker('payments')
  async charge(): Promise<{ ok: true }> {
    if (this.failing) throw new Error('payments down');
    return { ok: true };
  }
}

@Controller()
class ShopController {
  constructor(private readonly deps: Dependencies, private readonly registry: CircuitBreakerRegistry) {}

  @Post('payments')
  charge() {
    return this.deps.charge();
  }

  /** `inventory` is created on its first request, after the application started. */
  @Post('inventory')
  reserve() {
    return this.registry.getOrCreate('inventory').execute(async () => {
      if (this.deps.failing) throw new Error('inventory down');
      return { ok: true };
    });
  }
}

interface Otel {
  app: INestApplication;
  clock: FakeClock;
  collect(): Promise<MetricData[]>;
}

const running: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

async function start(): Promise<Otel> {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const clock = new FakeClock();
  const moduleRef = await Test.createTestingModule({
    imports: [
      CircuitBreakerModule.forRoot({ defaults: { failureThreshold: 2, resetTimeoutMs: RESET_TIMEOUT_MS, clock }, breakers: { payments: {} } }),
      CircuitBreakerOtelModule.forRoot({ meterProvider }),
    ],
    controllers: [ShopController],
    providers: [Dependencies],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new CircuitBreakerExceptionFilter());
  await app.init();
  running.push(async () => {
    await app.close();
    await meterProvider.shutdown();
  });
  const collect = async () => {
    exporter.reset();
    await reader.forceFlush();
    return exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  };
  return { app, clock, collect };
}

type Point = { attributes: Record<string, unknown>; value: unknown };

function points(metrics: MetricData[], instrument: string, name: string): Point[] {
  const metric = metrics.find((m) => m.descriptor.name === instrument);
  return (metric?.dataPoints ?? []).filter((p) => p.attributes['circuit_breaker.name'] === name) as Point[];
}

function valueAt(metrics: MetricData[], instrument: string, attributes: Record<string, string>): unknown {
  const point = (metrics.find((m) => m.descriptor.name === instrument)?.dataPoints ?? []).find((p) =>
    Object.keys(p.attributes).length === Object.keys(attributes).length && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  return point?.value;
}

/** What the exported metrics say about breaker `name`, in the shape of its snapshot. */
function exported(metrics: MetricData[], name: string) {
  const state = points(metrics, 'circuit_breaker.state', name);
  const calls = (outcome: string) => valueAt(metrics, 'circuit_breaker.calls', { 'circuit_breaker.name': name, 'circuit_breaker.outcome': outcome }) ?? 0;
  const durations = points(metrics, 'circuit_breaker.call.duration', name).reduce((n, p) => n + (p.value as { count: number }).count, 0);
  return {
    states: Object.fromEntries(state.map((p) => [p.attributes['circuit_breaker.state'], p.value])),
    successes: calls('success'),
    failures: (calls('failure') as number) + (calls('timeout') as number),
    rejections: calls('rejected'),
    durations,
    failureRate: valueAt(metrics, 'circuit_breaker.failure_rate', { 'circuit_breaker.name': name }),
    slowCallRate: valueAt(metrics, 'circuit_breaker.slow_call_rate', { 'circuit_breaker.name': name }),
  };
}

function expected(snap: CircuitBreakerSnapshot) {
  const states = { closed: 0, half_open: 0, open: 0, forced_open: 0, disabled: 0 };
  states[snap.state] = 1;
  return {
    states,
    successes: snap.total_successes,
    failures: snap.total_failures,
    rejections: snap.total_rejections,
    durations: snap.total_successes + snap.total_failures,
    failureRate: snap.failure_rate / 100,
    slowCallRate: 0,
  };
}

describe('CircuitBreakerOtelModule: metrics through @opentelemetry/sdk-metrics', () => {
  it.each([
    ['payments', 'configured, so created before the module started'],
    ['inventory', 'created by its first request, after the module started'],
  ])('exports %s (%s) closed → open → half-open → closed with the values of its snapshot', async (name) => {
    const { app, clock, collect } = await start();
    const server = app.getHttpServer();
    const registry = app.get(CircuitBreakerRegistry);
    const deps = app.get(Dependencies);
    const path = `/${name}`;
    const check = async (state: string) => {
      const metrics = await collect(); // first: collecting may move open → half_open, as a scrape does
      const snap = registry.get(name)!.snapshot();
      expect(snap.state).toBe(state);
      expect(exported(metrics, name)).toEqual(expected(snap));
      return metrics;
    };

    expect(registry.has(name)).toBe(name === 'payments');
    for (let i = 0; i < 3; i++) await request(server).post(path).expect(201);
    await check('closed');

    deps.failing = true;
    for (let i = 0; i < 2; i++) await request(server).post(path).expect(500);
    for (let i = 0; i < 2; i++) await request(server).post(path).expect(503);
    await check('open');

    clock.advance(RESET_TIMEOUT_MS);
    await check('half_open');

    deps.failing = false;
    await request(server).post(path).expect(201);
    const metrics = await check('closed');
    const transition = (from: string, to: string) => valueAt(metrics, 'circuit_breaker.transitions', {
      'circuit_breaker.name': name, 'circuit_breaker.from': from, 'circuit_breaker.to': to,
    });
    expect([transition('closed', 'open'), transition('open', 'half_open'), transition('half_open', 'closed')]).toEqual([1, 1, 1]);
    expect(exported(metrics, name)).toMatchObject({ successes: 4, failures: 2, rejections: 2 });

    const names = new Set(metrics.map((m) => m.descriptor.name));
    expect(CIRCUIT_BREAKER_OTEL_INSTRUMENTS.filter((i) => !names.has(i))).toEqual([]);
    const histogram = metrics.find((m) => m.descriptor.name === 'circuit_breaker.call.duration')!;
    expect(histogram.descriptor.unit).toBe('s');
    const point = points(metrics, 'circuit_breaker.call.duration', name)[0]!.value as { buckets: { boundaries: number[] }; sum: number };
    expect(point.buckets.boundaries).toEqual([...CIRCUIT_BREAKER_OTEL_DURATION_BUCKETS]);
    expect(point.sum).toBeLessThan(1); // seconds: these calls take microseconds
  });

  it('includes every breaker in the gauges, whether it was created before or after the module', async () => {
    const { app, collect } = await start();
    app.get(CircuitBreakerRegistry).getOrCreate('late').forceOpen();
    const metrics = await collect();
    expect(exported(metrics, 'payments').states).toEqual({ closed: 1, half_open: 0, open: 0, forced_open: 0, disabled: 0 });
    expect(exported(metrics, 'late').states).toEqual({ closed: 0, half_open: 0, open: 0, forced_open: 1, disabled: 0 });
  });

  it('stops at shutdown: the listeners it added are removed', async () => {
    const { app } = await start();
    const payments = app.get(CircuitBreakerRegistry).get('payments')!;
    const withOtel = payments.listenerCount();
    running.splice(0, 1);
    await app.close();
    // What stays is the module's own transition log: one listener.
    expect([withOtel, payments.listenerCount()]).toEqual([6, 1]); // ours: success, failure, ignored, rejected, stateChange
  });

  it('rejects a meterProvider that is not one, naming the option', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot(), CircuitBreakerOtelModule.forRoot({ meterProvider: { meter: 1 } as never })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(/CircuitBreakerOtelModule options\.meterProvider: expected an OpenTelemetry MeterProvider/);
    await app.close();
  });
});
