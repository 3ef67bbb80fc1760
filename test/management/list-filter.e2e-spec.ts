import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { type Breaker, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const RESET_TIMEOUT_MS = 10_000;
const FLEET = { total_breakers: 6, open: 1, half_open: 1, closed: 2, forced_open: 1, disabled: 1, health: 'degraded' };

const fail = (breaker: Breaker) => breaker.execute(() => Promise.reject(new Error('downstream failed'))).catch(() => undefined);

describe('GET /circuit-breakers?state=…', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** One breaker in each state, two closed. */
  async function fleet(registry: CircuitBreakerRegistry, clock: FakeClock): Promise<void> {
    await fail(registry.getOrCreate('recovering'));
    clock.advance(RESET_TIMEOUT_MS); // recovering: half_open on its next read
    await fail(registry.getOrCreate('payments')); // open
    registry.getOrCreate('search');
    registry.getOrCreate('catalog');
    registry.getOrCreate('ledger').forceOpen();
    registry.getOrCreate('audit').disable();
  }

  async function start(): Promise<ReturnType<typeof request>> {
    const clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { failureThreshold: 1, resetTimeoutMs: RESET_TIMEOUT_MS, clock }, management: { enabled: true } })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await fleet(app.get(CircuitBreakerRegistry), clock);
    return request(app.getHttpServer());
  }

  it('lists only the breakers in that state; the summary still counts the whole fleet', async () => {
    const http = await start();
    const res = await http.get('/circuit-breakers?state=open').expect(200);
    expect(Object.keys(res.body.breakers)).toEqual(['payments']);
    expect(res.body.breakers.payments).toMatchObject({ name: 'payments', state: 'open', total_failures: 1 });
    expect(res.body.summary).toEqual(FLEET);
    expect(Number.isNaN(Date.parse(res.body.timestamp))).toBe(false);
    expect(res.headers['cache-control']).toBe('no-store');

    expect(Object.keys((await http.get('/circuit-breakers?state=half_open').expect(200)).body.breakers)).toEqual(['recovering']);
    expect(Object.keys((await http.get('/circuit-breakers?state=closed').expect(200)).body.breakers)).toEqual(['catalog', 'search']);
  });

  it('takes several states, comma-separated or with the parameter repeated, in name order', async () => {
    const http = await start();
    const comma = await http.get('/circuit-breakers?state=open,forced_open,half_open').expect(200);
    expect(Object.keys(comma.body.breakers)).toEqual(['ledger', 'payments', 'recovering']);
    expect(comma.body.summary).toEqual(FLEET);
    const repeated = await http.get('/circuit-breakers?state=disabled&state=forced_open').expect(200);
    expect(Object.keys(repeated.body.breakers)).toEqual(['audit', 'ledger']);
  });

  it('a state no breaker is in gives an empty list, not an error', async () => {
    const clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot({ defaults: { clock }, management: { enabled: true } })] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    app.get(CircuitBreakerRegistry).getOrCreate('search');
    const res = await request(app.getHttpServer()).get('/circuit-breakers?state=open').expect(200);
    expect(res.body.breakers).toEqual({});
    expect(res.body.summary).toMatchObject({ total_breakers: 1, closed: 1, health: 'healthy' });
  });

  it('without the parameter, lists every breaker', async () => {
    const http = await start();
    const res = await http.get('/circuit-breakers').expect(200);
    expect(Object.keys(res.body.breakers)).toEqual(['audit', 'catalog', 'ledger', 'payments', 'recovering', 'search']);
  });

  it('an unknown state gives 400, naming the value and the states allowed', async () => {
    const http = await start();
    for (const query of ['state=opened', 'state=open,opened', 'state=OPEN', 'state=', 'state=open,']) {
      const res = await http.get(`/circuit-breakers?${query}`).expect(400);
      const bad = query.replace(/^state=/, '').split(',').find((s) => !['open', 'closed'].includes(s)) ?? '';
      expect(res.body.message).toContain(JSON.stringify(bad));
      expect(res.body.message).toContain('closed, half_open, open, forced_open, disabled');
    }
  });

  it('behaves the same on Fastify', async () => {
    const clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { failureThreshold: 1, resetTimeoutMs: RESET_TIMEOUT_MS, clock }, management: { enabled: true } })],
    }).compile();
    const fastify = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    app = fastify;
    await fastify.init();
    await fastify.getHttpAdapter().getInstance().ready();
    await fleet(fastify.get(CircuitBreakerRegistry), clock);
    const http = request(fastify.getHttpServer());
    const comma = await http.get('/circuit-breakers?state=open,forced_open').expect(200);
    expect(Object.keys(comma.body.breakers)).toEqual(['ledger', 'payments']);
    expect(comma.body.summary).toEqual(FLEET);
    const repeated = await http.get('/circuit-breakers?state=disabled&state=half_open').expect(200);
    expect(Object.keys(repeated.body.breakers)).toEqual(['audit', 'recovering']);
    expect((await http.get('/circuit-breakers?state=opened').expect(400)).body.message).toContain('"opened"');
  });
});
