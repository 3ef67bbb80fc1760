import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { CircuitBreakerModule, CircuitBreakerOpenError, CircuitBreakerRegistry, isCircuitBreakerOpenError } from 'nestjs-circuit-breaker';
import { CircuitBreakerTesting, CircuitBreakerTestingModule, FakeClock } from 'nestjs-circuit-breaker/testing';
import { PaymentsService } from './payments.service';

// Jest here runs CommonJS through ts-jest, as the Nest starter sets it up: `require()` of the
// package must reach its CommonJS build (an ES module would fail with "Must use import to load ES Module").
describe('nestjs-circuit-breaker in a Nest 11 CommonJS project', () => {
  it('loads the CommonJS build of the main entry and of /testing', () => {
    expect(require.resolve('nestjs-circuit-breaker')).toMatch(/node_modules\/nestjs-circuit-breaker\/dist\/cjs\/index\.js$/);
    expect(require.resolve('nestjs-circuit-breaker/testing')).toMatch(/node_modules\/nestjs-circuit-breaker\/dist\/cjs\/testing\/index\.js$/);
  });

  it('opens the breaker of a decorated service after its failures, then rejects without calling it', async () => {
    const clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { clock } })],
      providers: [PaymentsService],
    }).compile();
    await moduleRef.init();
    const payments = moduleRef.get(PaymentsService);

    await expect(payments.charge(10)).resolves.toBe('charged 10');
    await expect(payments.charge(-1)).rejects.toThrow('the payment provider answered 500');
    await expect(payments.charge(-1)).rejects.toThrow('the payment provider answered 500');
    expect(moduleRef.get(CircuitBreakerRegistry).get('payments')?.state).toBe('open');

    const rejected = await payments.charge(10).catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(CircuitBreakerOpenError);
    expect(isCircuitBreakerOpenError(rejected)).toBe(true);
    expect(rejected).toMatchObject({ breakerName: 'payments', state: 'open', retryAfterMs: 30_000 });
    expect(payments.calls).toBe(3);

    clock.advance(30_000);
    await expect(payments.charge(5)).resolves.toBe('charged 5');
    expect(moduleRef.get(CircuitBreakerRegistry).get('payments')?.state).toBe('closed');
    await moduleRef.close();
  });

  it('drives the breaker with CircuitBreakerTestingModule from /testing', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerTestingModule.forRoot()],
      providers: [PaymentsService],
    }).compile();
    await moduleRef.init();
    const payments = moduleRef.get(PaymentsService);
    await moduleRef.get(CircuitBreakerTesting).open('payments');

    await expect(payments.charge(10)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(payments.calls).toBe(0);
    await moduleRef.close();
  });
});
