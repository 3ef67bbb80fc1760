import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerExceptionFilter,
  CircuitBreakerModule,
  type CircuitBreakerModuleOptions,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
} from '../../lib/index.js';
import { RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

/**
 * How long a test waits for a transition to reach another breaker. Generous on purpose: this process shares
 * two cores with the rest of the suite. SPEC's 100 ms promise is measured in test/fleet.e2e-spec.ts from the
 * instances' own clocks, where scheduling noise of the test runner does not count.
 */
const PROPAGATION_DEADLINE_MS = 1_000;

const TOKEN = 'ops-token';

@Injectable()
class Payments {
  calls = 0;

  @CircuitBreaker('payments')
  async charge(): Promise<string> {
    this.calls++;
    throw new Error('payments down');
  }
}

@Controller()
class CheckoutController {
  constructor(private readonly payments: Payments) {}

  @Get('checkout')
  checkout(): Promise<string> {
    return this.payments.charge();
  }
}

describe('instances of one service sharing Redis', () => {
  let server: RedisServer;
  let keyPrefix: string;
  const apps: INestApplication[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.stop());
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  /** One instance of the service: its own Nest app, its own Redis client, the fleet's key prefix. */
  async function instance(options: CircuitBreakerModuleOptions = {}) {
    const client = new Redis(server.port, '127.0.0.1');
    clients.push(client);
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({
        defaults: { failureThreshold: 2, resetTimeoutMs: 60_000 },
        management: { enabled: true, token: TOKEN },
        store: new RedisCircuitBreakerStore({ client, keyPrefix, logger: { log: () => undefined, warn: () => undefined } }),
        ...options,
      })],
      controllers: [CheckoutController],
      providers: [Payments, { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    return {
      app,
      client,
      http: request(app.getHttpServer()),
      payments: app.get(Payments),
      breaker: app.get(CircuitBreakerRegistry).get('payments')!,
    };
  }

  beforeEach(() => {
    keyPrefix = `e2e:${randomUUID()}:`;
  });

  it('a breaker tripped on one instance rejects on the others, and a new instance starts open', async () => {
    const a = await instance();
    const b = await instance();
    await a.http.get('/checkout').expect(500);
    await a.http.get('/checkout').expect(500);
    expect(a.breaker.state).toBe('open');

    await eventually(() => expect(b.breaker.state).toBe('open'), PROPAGATION_DEADLINE_MS);
    const rejected = await b.http.get('/checkout').expect(503);
    expect(rejected.body).toMatchObject({ breaker: 'payments', circuit_state: 'open' });
    expect(Number(rejected.headers['retry-after'])).toBeGreaterThan(55);
    expect(b.payments.calls).toBe(0);

    // Bootstrap waited for the shared state: open before its first request.
    const c = await instance();
    expect(c.breaker.state).toBe('open');
    await expect(c.payments.charge()).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(c.payments.calls).toBe(0);
  });

  it('management actions on one instance apply to the whole fleet', async () => {
    const a = await instance();
    const b = await instance();
    await a.http.post('/circuit-breakers/payments/force-open').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    await eventually(() => expect(b.breaker.state).toBe('forced_open'), PROPAGATION_DEADLINE_MS);
    await b.http.get('/circuit-breakers/payments').expect(200).expect(({ body }) => expect(body.state).toBe('forced_open'));

    await b.http.post('/circuit-breakers/payments/reset').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    await eventually(() => expect(a.breaker.state).toBe('closed'), PROPAGATION_DEADLINE_MS);
  });

  it('an instance with enabled: false stays out of the fleet', async () => {
    const a = await instance();
    const off = await instance({ enabled: false });
    a.breaker.forceOpen();
    const c = await instance(); // joined after the force-open: proves it was shared
    expect(c.breaker.state).toBe('forced_open');
    expect(off.breaker.state).toBe('disabled');
  });

  it('a store option that is not a store fails the boot, naming it without echoing secrets', async () => {
    const boot = async () => Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ store: { url: 'redis://admin:s3cret@db:6379' } as never })],
    }).compile();
    const error = await boot().then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect((error as Error).message).toContain('store: expected a CircuitBreakerStore (an object with attach(breaker) and close())');
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('shutdown detaches the breakers and closes the store, not the client', async () => {
    const a = await instance();
    const b = await instance();
    await a.app.close();
    apps.splice(apps.indexOf(a.app), 1);
    await expect(a.client.ping()).resolves.toBe('PONG');

    b.breaker.forceOpen();
    const c = await instance();
    expect(c.breaker.state).toBe('forced_open');
    expect(a.breaker.state).toBe('closed');
  });
});
