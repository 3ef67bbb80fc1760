import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Inject, type INestApplication, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, type Meter, type Tracer, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { CircuitBreakerExceptionFilter, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { CIRCUIT_BREAKER_SPAN_EVENTS, CircuitBreakerOtelModule, registerCircuitBreakerOtel } from '../../lib/opentelemetry/index.js';
import { FakeClock } from '../../lib/testing/index.js';
import { AsyncLocalStorageContextManager } from './context-manager.js';
import { PaymentGateway } from '../fixtures/payment-gateway.js';

const TRACER = Symbol('TRACER');
const RESET_TIMEOUT_MS = 30_000;


/** Each request runs in a span of its own, as HTTP instrumentation would start it. */
@Controller()
class ShopController {
  constructor(private readonly gateway: PaymentGateway, @Inject(TRACER) private readonly tracer: Tracer) {}

  @Post('charge')
  charge() {
    return this.tracer.startActiveSpan('POST /charge', async (span) => {
      try {
        return await this.gateway.charge();
      } finally {
        span.end();
      }
    });
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  context.disable();
});

async function start(withModule = true) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const clock = new FakeClock();
  const moduleRef = await Test.createTestingModule({
    imports: [
      CircuitBreakerModule.forRoot({ defaults: { failureThreshold: 2, resetTimeoutMs: RESET_TIMEOUT_MS, clock }, breakers: { payments: {} } }),
      ...(withModule ? [CircuitBreakerOtelModule.forRoot({ tracerProvider })] : []),
    ],
    controllers: [ShopController],
    providers: [PaymentGateway, { provide: TRACER, useValue: tracerProvider.getTracer('shop') }],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new CircuitBreakerExceptionFilter());
  apps.push(app);
  await app.init();
  return { app, exporter, clock };
}

describe('CircuitBreakerOtelModule: span events through @opentelemetry/sdk-trace-base', () => {
  it('adds a state_change event to the span of the call that opened the breaker, and a rejected event to a rejected call', async () => {
    const { app, exporter, clock } = await start();
    const server = app.getHttpServer();
    app.get(PaymentGateway).failing = true;
    await request(server).post('/charge').expect(500);
    await request(server).post('/charge').expect(500); // opens
    clock.advance(10_000);
    await request(server).post('/charge').expect(503); // rejected, 20 s before the retry

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.events.map((e) => e.name))).toEqual([[], [CIRCUIT_BREAKER_SPAN_EVENTS.stateChange], [CIRCUIT_BREAKER_SPAN_EVENTS.rejected]]);
    expect(spans[1]!.events[0]!.attributes).toEqual({
      'circuit_breaker.name': 'payments',
      'circuit_breaker.from': 'closed',
      'circuit_breaker.to': 'open',
      'circuit_breaker.reason': 'threshold reached: 2/2',
    });
    expect(spans[2]!.events[0]!.attributes).toEqual({
      'circuit_breaker.name': 'payments',
      'circuit_breaker.state': 'open',
      'circuit_breaker.time_until_retry': app.get(CircuitBreakerRegistry).get('payments')!.snapshot().time_until_retry,
    });
    expect(spans[2]!.events[0]!.attributes!['circuit_breaker.time_until_retry']).toBe(20);
  });

  it('adds a fallback event when a fallback serves a failed call and a rejected one', async () => {
    const { app, exporter, clock } = await start();
    const registry = app.get(CircuitBreakerRegistry);
    const tracer = app.get<Tracer>(TRACER);
    const quotes = registry.getOrCreate('quotes', { failureThreshold: 1, fallback: () => 'cached' });
    const inSpan = (name: string, fn: () => Promise<unknown>) => tracer.startActiveSpan(name, async (span) => {
      try {
        return await fn();
      } finally {
        span.end();
      }
    });
    await expect(inSpan('failed', () => quotes.execute(() => Promise.reject(new TypeError('socket hang up'))))).resolves.toBe('cached');
    clock.advance(5_000);
    await expect(inSpan('rejected', () => quotes.execute(() => Promise.resolve('live')))).resolves.toBe('cached');

    const E = CIRCUIT_BREAKER_SPAN_EVENTS;
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => [s.name, s.events.map((e) => e.name)])).toEqual([
      ['failed', [E.stateChange, E.fallback]],
      ['rejected', [E.rejected, E.fallback]],
    ]);
    const base = { 'circuit_breaker.name': 'quotes', 'circuit_breaker.state': 'open' };
    expect(spans[0]!.events[1]!.attributes).toEqual({ ...base, 'circuit_breaker.time_until_retry': 30, 'error.type': 'TypeError' });
    expect(spans[1]!.events[1]!.attributes).toEqual({ ...base, 'circuit_breaker.time_until_retry': 25, 'error.type': 'CircuitBreakerOpenError' });
  });

  it('a rejection outside any span goes on as usual, and an instrument that throws never reaches the caller', async () => {
    const { app } = await start();
    const registry = app.get(CircuitBreakerRegistry);
    const breaker = registry.getOrCreate('outside', { failureThreshold: 1 });
    await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(breaker.execute(() => Promise.resolve(1))).rejects.toThrow(/open/i); // no active span: nothing to add to

    const errors: unknown[] = [];
    const broken = () => { throw new Error('exporter broke'); };
    const meter = {
      createObservableGauge: () => ({}),
      addBatchObservableCallback: () => undefined,
      removeBatchObservableCallback: () => undefined,
      createCounter: () => ({ add: broken }),
      createHistogram: () => ({ record: broken }),
    } as unknown as Meter;
    const stop = registerCircuitBreakerOtel(registry, { meterProvider: { getMeter: () => meter }, onError: (e) => errors.push(e) });
    const other = registry.getOrCreate('other');
    await expect(other.execute(() => Promise.resolve('ok'))).resolves.toBe('ok');
    stop();
    expect(errors.map(String)).toEqual(['Error: exporter broke']);
  });

  it('adds no listener to any breaker when no provider is given and none is registered globally', async () => {
    const { app } = await start(false);
    const registry = app.get(CircuitBreakerRegistry);
    const payments = registry.get('payments')!;
    const before = payments.listenerCount();
    expect(trace.getTracerProvider().getTracer('x').startSpan('x').isRecording()).toBe(false); // no global SDK here
    const stop = registerCircuitBreakerOtel(registry);
    expect(payments.listenerCount()).toBe(before);
    expect(registry.getOrCreate('later').listenerCount()).toBe(before);
    stop();
    const withProvider = registerCircuitBreakerOtel(registry, { tracerProvider: new BasicTracerProvider() });
    expect(payments.listenerCount()).toBeGreaterThan(before); // the check can fail: a provider does attach
    withProvider();
  });
});
