import { afterEach, describe, expect, it } from '@jest/globals';
import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Counter, Registry } from 'prom-client';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { CircuitBreakerMetricsModule } from '../../lib/prometheus/index.js';

// CircuitBreakerMetricsModule.forRoot({ path }): the module serves the prom-client registry itself,
// over real HTTP, with the circuit breaker metrics streamed in slices.

describe('CircuitBreakerMetricsModule.forRoot({ path })', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function start(path: string, prom: Registry) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ breakers: { payments: { failureThreshold: 1 }, inventory: {} } }),
        CircuitBreakerMetricsModule.forRoot({ registry: prom, path }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    return app;
  }

  it('serves the whole registry at GET /<path>: the same text as registry.metrics(), with its content type and no caching', async () => {
    const prom = new Registry();
    new Counter({ name: 'app_orders_total', help: 'Orders placed', registers: [prom] }).inc(2);
    const app = await start('internal/metrics', prom);
    const registry = app.get(CircuitBreakerRegistry);
    await registry.get('payments')!.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    for (let i = 0; i < 1_200; i++) await registry.getOrCreate(`tenant-${i}`).execute(async () => i);

    const res = await request(app.getHttpServer()).get('/internal/metrics').expect(200);
    expect(res.headers['content-type']).toBe(prom.contentType);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toBe(await prom.metrics());
    expect(res.text).toContain('circuit_breaker_state{name="payments"} 2');
    expect(res.text).toContain('circuit_breaker_state{name="inventory"} 0');
    expect(res.text).toContain('circuit_breaker_call_duration_seconds_count{name="tenant-1199"} 1');
    expect(res.text).toContain('app_orders_total 2');
  });

  it('mounts nothing without a path, refuses a path from forRootAsync, and names a bad path at forRoot', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({}), CircuitBreakerMetricsModule.forRoot({ registry: new Registry() })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    await request(app.getHttpServer()).get('/metrics').expect(404);

    // a path from a forRootAsync factory would mount nothing: refused at init, not ignored
    const asyncRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({}), CircuitBreakerMetricsModule.forRootAsync({ useFactory: () => ({ registry: new Registry(), path: 'metrics' }) })],
    }).compile();
    const asyncApp = asyncRef.createNestApplication({ logger: false });
    await expect(asyncApp.init()).rejects.toThrow(/path: expected no path from a forRootAsync factory.*received "metrics"/s);
    await asyncApp.close().catch(() => undefined);

    expect(() => CircuitBreakerMetricsModule.forRoot({ path: 'me trics' })).toThrow(
      /CircuitBreakerMetricsModule options\.path: expected a route path such as 'metrics'.*received "me trics"/s,
    );
  });
});
