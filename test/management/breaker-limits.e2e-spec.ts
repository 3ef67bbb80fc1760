// Many breakers: names taken from requests, `maxBreakers`, and `registry.remove()`, seen by a
// client over real HTTP and by a Prometheus scrape.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication, Query } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import request from 'supertest';
import { CircuitBreakerExceptionFilter, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { CircuitBreakerMetricsModule } from '../../lib/prometheus/index.js';

const NAME_RULE = '/^[A-Za-z0-9._:-]{1,128}$/';
const LONG_UNICODE_NAME = 'é'.repeat(200);

/** A breaker per tenant, named after the request: what `maxBreakers` and `remove()` are for. */
@Controller('tenants')
class TenantController {
  constructor(private readonly registry: CircuitBreakerRegistry) {}

  @Get()
  async call(@Query('name') name: string): Promise<{ name: string; state: string }> {
    const breaker = this.registry.getOrCreate(name);
    await breaker.execute(async () => 'ok');
    return { name: breaker.name, state: breaker.state };
  }
}

describe('many breakers: request-made names, maxBreakers and remove()', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(maxBreakers?: number): Promise<{ http: ReturnType<typeof request>; registry: CircuitBreakerRegistry; prom: Registry }> {
    const prom = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ breakers: { payments: {} }, management: { enabled: true }, ...(maxBreakers === undefined ? {} : { maxBreakers }) }),
        CircuitBreakerMetricsModule.forRoot({ registry: prom }),
      ],
      controllers: [TenantController],
      providers: [{ provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return { http: request(`http://127.0.0.1:${port}`), registry: app.get(CircuitBreakerRegistry), prom };
  }

  describe('an invalid name is the client\'s mistake: 400', () => {
    it('from a route whose handler calls getOrCreate(req.query.name), naming the rule and quoting 40 characters', async () => {
      const { http, registry } = await start();
      const res = await http.get('/tenants').query({ name: LONG_UNICODE_NAME }).expect(400).expect('content-type', /application\/json/);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: `Invalid circuit breaker name "${'é'.repeat(40)}…" (200 characters): expected a breaker name matching ${NAME_RULE}`,
      });
      expect(res.text).not.toContain('é'.repeat(41));
      for (const name of ['a b', 'x'.repeat(129), 'dashboard']) await http.get('/tenants').query({ name }).expect(400);
      await http.get('/tenants').expect(400); // no name at all
      expect(registry.names()).toEqual(['payments']);
      await http.get('/tenants').query({ name: 'tenant-1' }).expect(200, { name: 'tenant-1', state: 'closed' });
    });

    it('from the management API, for GET /circuit-breakers/<200-character unicode name>', async () => {
      const { http, registry } = await start();
      const res = await http.get(`/circuit-breakers/${encodeURIComponent(LONG_UNICODE_NAME)}`).expect(400).expect('content-type', /application\/json/);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.body.message).toContain(NAME_RULE);
      expect(registry.names()).toEqual(['payments']);
    });
  });

  it('maxBreakers reached is the server out of room: 503 naming the breaker and the limit, the others unaffected', async () => {
    const { http, registry } = await start(3); // payments + 2 tenants
    await http.get('/tenants').query({ name: 'tenant-1' }).expect(200);
    await http.get('/tenants').query({ name: 'tenant-2' }).expect(200);
    const res = await http.get('/tenants').query({ name: 'tenant-3' }).expect(503).expect('content-type', /application\/json/);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: "Circuit breaker 'tenant-3' was not created: the registry holds maxBreakers (3) breakers already. "
        + 'Remove dynamic breakers no longer used with registry.remove(name), or raise maxBreakers',
      breaker: 'tenant-3',
      max_breakers: 3,
    });
    expect(res.headers['retry-after']).toBeUndefined(); // nobody knows when room is made
    expect(registry.names()).toEqual(['payments', 'tenant-1', 'tenant-2']);
    await http.get('/tenants').query({ name: 'tenant-1' }).expect(200);
    const list = await http.get('/circuit-breakers').expect(200);
    expect(list.body.summary.total_breakers).toBe(3);

    expect(registry.remove('tenant-1')).toBe(true);
    await http.get('/tenants').query({ name: 'tenant-3' }).expect(200, { name: 'tenant-3', state: 'closed' });
  });

  /** The sample lines of a scrape labelled with breaker `name`. */
  const labelled = (text: string, name: string) => text.split('\n').filter((line) => !line.startsWith('#') && line.includes(`name="${name}"`));
  const HISTOGRAM = 'circuit_breaker_call_duration_seconds';

  it('a removed breaker leaves the management API and the next scrape', async () => {
    const { http, registry, prom } = await start();
    await http.get('/tenants').query({ name: 'tenant-1' }).expect(200);
    await http.get('/tenants').query({ name: 'tenant-2' }).expect(200);
    const before = await prom.metrics();
    expect(labelled(before, 'tenant-1').some((line) => line.startsWith('circuit_breaker_state{'))).toBe(true);

    expect(registry.remove('tenant-1')).toBe(true);
    const after = await prom.metrics();
    // Every collector that reads names() at scrape time; the duration histogram: see the test below.
    expect(labelled(after, 'tenant-1').filter((line) => !line.startsWith(HISTOGRAM))).toEqual([]);
    expect(labelled(after, 'tenant-2').some((line) => line.startsWith('circuit_breaker_state{'))).toBe(true);
    await http.get('/circuit-breakers/tenant-1').expect(404);
    const list = await http.get('/circuit-breakers').expect(200);
    expect(Object.keys(list.body.breakers)).toEqual(['payments', 'tenant-2']);
    // A configured breaker is the application's: not removable.
    expect(() => registry.remove('payments')).toThrow("Circuit breaker 'payments' cannot be removed");
  });

  it('a removed breaker leaves the duration histogram too, and its listeners are detached', async () => {
    const { http, registry, prom } = await start();
    await http.get('/tenants').query({ name: 'tenant-1' }).expect(200);
    expect(labelled(await prom.metrics(), 'tenant-1').some((line) => line.startsWith(`${HISTOGRAM}_count{`))).toBe(true);
    const removed = registry.get('tenant-1')!;
    registry.remove('tenant-1');
    expect(labelled(await prom.metrics(), 'tenant-1')).toEqual([]);
    expect(removed.listenerCount()).toBe(0);
  });
});
