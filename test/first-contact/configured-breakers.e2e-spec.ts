// The first hour in a user's app: configured breakers are there from boot, names from the
// environment are matched to them, a misspelt name is named at boot, and @InjectCircuitBreaker
// works with forRoot/forRootAsync alone.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type DynamicModule, Get, Injectable, type INestApplication, UseInterceptors } from '@nestjs/common';
import request from 'supertest';
import {
  type Breaker,
  CircuitBreaker,
  CircuitBreakerInterceptor,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  InjectCircuitBreaker,
} from '../../lib/index.js';
import { circuitBreakerConfigFromEnv, circuitBreakerEventStream } from '../../lib/index.js';
import { firstValueFrom } from 'rxjs';
import { createObservedApp, parseScrape, valueOf } from '../fixtures/observed-app.js';

@Injectable()
class InventoryClient {
  constructor(
    @InjectCircuitBreaker('inventory') readonly inventory: Breaker,
    @InjectCircuitBreaker('recommendations') readonly recommendations: Breaker,
  ) {}
}

@Injectable()
class PaymentClient {
  @CircuitBreaker('payment')
  charge(): string {
    return 'charged';
  }
}

@Controller('orders')
class OrdersController {
  @Get('decorated-and-by-hand')
  @CircuitBreaker('orders')
  @UseInterceptors(CircuitBreakerInterceptor)
  both() {
    return { ok: true };
  }

  @Get('by-hand')
  @UseInterceptors(CircuitBreakerInterceptor)
  byHand() {
    return { ok: true };
  }
}

const BREAKERS = { inventory: { failureThreshold: 3 }, payments: { failureThreshold: 5 } };

const variants: [string, (options: Parameters<typeof CircuitBreakerModule.forRoot>[0]) => DynamicModule][] = [
  ['forRoot', (options) => CircuitBreakerModule.forRoot(options)],
  ['forRootAsync', (options) => CircuitBreakerModule.forRootAsync({ useFactory: () => options!, management: { path: 'circuit-breakers' } })],
];

describe.each(variants)('first contact with %s', (_kind, circuitBreakers) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(options: Parameters<typeof CircuitBreakerModule.forRoot>[0], withClients = false) {
    const management = { management: { enabled: true } };
    const booted = await createObservedApp({
      circuitBreakers: circuitBreakers({ ...options, ...management }),
      controllers: withClients ? [OrdersController] : [],
      providers: withClients ? [InventoryClient, PaymentClient] : [],
    });
    app = booted.app;
    return booted;
  }

  it('lists two configured, unused breakers in the management API, /health/detailed and /metrics before any call', async () => {
    const { app } = await boot({ breakers: BREAKERS });
    const server = app.getHttpServer();
    const list = await request(server).get('/circuit-breakers').expect(200);
    expect(Object.keys(list.body.breakers)).toEqual(expect.arrayContaining(['inventory', 'payments']));
    expect(list.body.breakers.inventory.state).toBe('closed');
    await request(server).get('/circuit-breakers/inventory').expect(200);
    const health = await request(server).get('/health/detailed').expect(200);
    expect(health.body.details.circuit_breakers.breakers).toMatchObject({ inventory: { state: 'closed' }, payments: { state: 'closed' } });
    const samples = parseScrape((await request(server).get('/metrics').expect(200)).text);
    expect(valueOf(samples, 'circuit_breaker_state', { name: 'inventory' })).toBe(0);
    expect(valueOf(samples, 'circuit_breaker_state', { name: 'payments' })).toBe(0);
    expect(app.get(CircuitBreakerRegistry).names()).toEqual(expect.arrayContaining(['inventory', 'payments']));
    // the event stream's first message, its snapshot, has them too
    const first = await firstValueFrom(circuitBreakerEventStream(app.get(CircuitBreakerRegistry)));
    expect(first).toMatchObject({ type: 'snapshot', data: { breakers: { inventory: 'closed', payments: 'closed' } } });
  });

  it('applies an environment override to the configured breaker it names, however it is spelt', async () => {
    const env = circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER__INVENTORY__FAILURE_THRESHOLD: '7' });
    const { app } = await boot({ breakers: { ...BREAKERS, ...env.breakers } });
    const registry = app.get(CircuitBreakerRegistry);
    expect(registry.names().filter((n) => n.toLowerCase() === 'inventory')).toEqual(['inventory']);
    expect(registry.get('inventory')!.options.failureThreshold).toBe(7);
    expect(registry.get('payments')!.options.failureThreshold).toBe(5);
  });

  it('warns about an environment name that matches no breaker, and creates nothing for it', async () => {
    const env = circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER__INVENTRY__FAILURE_THRESHOLD: '7' });
    const { app, logger } = await boot({ breakers: { ...BREAKERS, ...env.breakers } });
    expect(logger.at('warn').join('\n')).toMatch(/CIRCUIT_BREAKER__INVENTRY__\* matches no breaker.*inventory, payments/);
    const list = await request(app.getHttpServer()).get('/circuit-breakers').expect(200);
    expect(Object.keys(list.body.breakers)).toEqual(expect.arrayContaining(['inventory', 'payments']));
    expect(Object.keys(list.body.breakers).filter((n) => /inventry/i.test(n))).toEqual([]);
  });

  it('injects the registry\'s breaker with @InjectCircuitBreaker and no forFeature; an injected-only name gets the defaults', async () => {
    const { app } = await boot({ defaults: { resetTimeoutMs: 12_345 }, breakers: BREAKERS }, true);
    const registry = app.get(CircuitBreakerRegistry);
    const client = app.get(InventoryClient);
    expect(client.inventory).toBe(registry.get('inventory'));
    expect(client.inventory.options.failureThreshold).toBe(3);
    expect(client.recommendations).toBe(registry.get('recommendations'));
    expect(client.recommendations.options.resetTimeoutMs).toBe(12_345);
  });

  it('names the closest configured breaker for a misspelt decorated name', async () => {
    const { logger } = await boot({ breakers: BREAKERS }, true);
    const warnings = logger.at('warn').join('\n');
    expect(warnings).toMatch(/'payment' \(PaymentClient\.charge\) is not in `breakers`.*Did you mean 'payments'\?/);
    expect(warnings).not.toMatch(/'inventory'.*not in `breakers`/);
  });

  it('counts one call per request with the interceptor by hand next to @CircuitBreaker, and gives a by-hand route its own breaker', async () => {
    const { app } = await boot({ breakers: BREAKERS }, true);
    const server = app.getHttpServer();
    const registry = app.get(CircuitBreakerRegistry);
    expect(registry.names()).toContain('OrdersController.byHand'); // from boot, before any request
    for (let i = 0; i < 3; i++) await request(server).get('/orders/decorated-and-by-hand').expect(200);
    for (let i = 0; i < 2; i++) await request(server).get('/orders/by-hand').expect(200);
    const list = await request(server).get('/circuit-breakers').expect(200);
    expect(list.body.breakers.orders.total_requests).toBe(3);
    expect(list.body.breakers['OrdersController.byHand'].total_requests).toBe(2);
  });
});
