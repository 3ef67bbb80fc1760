import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { type Breaker, CircuitBreakerConfigError, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { CircuitBreakerHealthIndicator, type CircuitBreakerHealthOptions } from '../../lib/health/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const RESET_TIMEOUT_MS = 10_000;

/** The options each route passes to `isHealthy`, set by the test before the request. */
class HealthOptions {
  key: string | undefined = undefined;
  options: CircuitBreakerHealthOptions | undefined = undefined;
}

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
    private readonly settings: HealthOptions,
  ) {}

  @Get('detailed')
  @HealthCheck()
  readiness() {
    return this.health.check([() => this.breakers.isHealthy(this.settings.key, this.settings.options)]);
  }
}

const fail = (breaker: Breaker) => breaker.execute(() => Promise.reject(new Error('downstream failed'))).catch(() => undefined);
const succeed = (breaker: Breaker) => breaker.execute(() => 'ok');

describe('CircuitBreakerHealthIndicator (nestjs-circuit-breaker/health)', () => {
  let app: INestApplication;
  let registry: CircuitBreakerRegistry;
  let settings: HealthOptions;
  let clock: FakeClock;
  let payments: Breaker;
  let search: Breaker;

  beforeEach(async () => {
    clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ defaults: { failureThreshold: 2, resetTimeoutMs: RESET_TIMEOUT_MS, clock } }),
        TerminusModule,
      ],
      controllers: [HealthController],
      providers: [CircuitBreakerHealthIndicator, HealthOptions],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    registry = app.get(CircuitBreakerRegistry);
    settings = app.get(HealthOptions);
    payments = registry.getOrCreate('payments');
    search = registry.getOrCreate('search');
  });

  afterEach(async () => {
    await app.close();
  });

  const readiness = () => request(app.getHttpServer()).get('/health/detailed');

  it('is up with every breaker\'s state, failure_count, success_rate and time_until_retry under the key circuit_breakers', async () => {
    await succeed(payments);
    await fail(search);
    const res = await readiness().expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details).toEqual({
      circuit_breakers: {
        status: 'up',
        breakers: {
          payments: { state: 'closed', failure_count: 0, success_rate: 100, time_until_retry: null },
          search: { state: 'closed', failure_count: 1, success_rate: 0, time_until_retry: null },
        },
      },
    });
  });

  it('answers 503 with the breaker details when a critical breaker opens', async () => {
    await fail(payments);
    await fail(payments);
    expect(payments.state).toBe('open');
    const res = await readiness().expect(503);
    expect(res.body.status).toBe('error');
    const result = res.body.error.circuit_breakers;
    expect(result.status).toBe('down');
    expect(result.breakers.payments).toEqual({ state: 'open', failure_count: 0, success_rate: 0, time_until_retry: 10 });
    expect(result.breakers.search.state).toBe('closed');
    expect(result.message).toContain('payments (open)');
  });

  it('stays 200 while the breaker is half_open (recovering), and reads the lazy OPEN → HALF_OPEN move', async () => {
    await fail(payments);
    await fail(payments);
    await readiness().expect(503);
    clock.advance(RESET_TIMEOUT_MS);
    const res = await readiness().expect(200);
    expect(res.body.details.circuit_breakers.status).toBe('up');
    expect(res.body.details.circuit_breakers.breakers.payments.state).toBe('half_open');
  });

  it('is down while a breaker is forced open, and up again after reset', async () => {
    payments.forceOpen();
    const res = await readiness().expect(503);
    expect(res.body.error.circuit_breakers.breakers.payments.state).toBe('forced_open');
    payments.reset();
    await readiness().expect(200);
  });

  it('stays up for a disabled breaker', async () => {
    payments.disable();
    const res = await readiness().expect(200);
    expect(res.body.details.circuit_breakers.breakers.payments.state).toBe('disabled');
  });

  it('critical: [] reports an open breaker and never fails', async () => {
    settings.options = { critical: [] };
    payments.forceOpen();
    await fail(search);
    await fail(search);
    const res = await readiness().expect(200);
    expect(res.body.details.circuit_breakers.status).toBe('up');
    expect(res.body.details.circuit_breakers.breakers.payments.state).toBe('forced_open');
    expect(res.body.details.circuit_breakers.breakers.search.state).toBe('open');
  });

  it('is down only for the breakers listed in critical', async () => {
    settings.options = { critical: ['payments'] };
    search.forceOpen();
    await readiness().expect(200);
    payments.forceOpen();
    const res = await readiness().expect(503);
    expect(res.body.error.circuit_breakers.message).toContain('payments (forced_open)');
    expect(res.body.error.circuit_breakers.message).not.toContain('search');
  });

  it('include limits the details (and, by default, the critical set) to the named breakers', async () => {
    settings.options = { include: ['payments'] };
    search.forceOpen();
    const res = await readiness().expect(200);
    expect(Object.keys(res.body.details.circuit_breakers.breakers)).toEqual(['payments']);
  });

  it('uses the given key', async () => {
    settings.key = 'breakers';
    const res = await readiness().expect(200);
    expect(Object.keys(res.body.details)).toEqual(['breakers']);
  });

  it('lists names that no breaker has under unknown, stays up, and creates no breaker', async () => {
    settings.options = { include: ['payments', 'paymnets'], critical: ['payments', 'ledger'] };
    const res = await readiness().expect(200);
    expect(res.body.details.circuit_breakers.unknown).toEqual(['paymnets', 'ledger']);
    expect(registry.has('paymnets')).toBe(false);
    expect(registry.has('ledger')).toBe(false);
    expect(registry.names()).toEqual(['payments', 'search']);
  });

  it('rejects bad arguments with an error naming the value and what is expected', async () => {
    const indicator = app.get(CircuitBreakerHealthIndicator);
    await expect(indicator.isHealthy('', {})).rejects.toThrow(CircuitBreakerConfigError);
    await expect(indicator.isHealthy('circuit_breakers', { critical: 'payments' } as never)).rejects.toThrow(
      /isHealthy\(key, options\)\.critical.*expected an array of breaker names.*"payments"/s,
    );
    await expect(indicator.isHealthy('circuit_breakers', { includes: ['payments'] } as never)).rejects.toThrow(
      /isHealthy\(key, options\)\.includes.*unknown option \(known: include, critical, details\)/s,
    );
    await expect(indicator.isHealthy('circuit_breakers', { details: 'open' } as never)).rejects.toThrow(
      /isHealthy\(key, options\)\.details.*expected one of 'all', 'not_closed'.*"open"/s,
    );
  });

  it("details: 'not_closed' lists only the breakers that are not closed and counts the others; down as before", async () => {
    for (let i = 0; i < 5; i++) registry.getOrCreate(`tenant-${i}`);
    registry.getOrCreate('tenant-2').disable();
    settings.options = { details: 'not_closed' };
    const up = await readiness().expect(200);
    expect(up.body.details.circuit_breakers).toEqual({
      status: 'up',
      breakers: { 'tenant-2': { state: 'disabled', failure_count: 0, success_rate: 100, time_until_retry: null } },
      closed_not_listed: 6,
    });
    await fail(payments);
    await fail(payments);
    const down = await readiness().expect(503);
    expect(down.body.error.circuit_breakers).toEqual({
      status: 'down',
      breakers: {
        payments: { state: 'open', failure_count: 0, success_rate: 0, time_until_retry: 10 },
        'tenant-2': { state: 'disabled', failure_count: 0, success_rate: 100, time_until_retry: null },
      },
      closed_not_listed: 5,
      message: 'Critical circuit breakers reject calls: payments (open)',
    });
    // with critical and include, a closed critical breaker is counted, not listed
    settings.options = { details: 'not_closed', include: ['search'], critical: ['search', 'payments'] };
    expect((await readiness().expect(503)).body.error.circuit_breakers).toMatchObject({ closed_not_listed: 1, breakers: { payments: { state: 'open' } } });
  });
});
