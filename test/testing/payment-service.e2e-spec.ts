// A spec as a user writes it for a service of their own app, using only the documented testing
// helper (README "Testing your own code"): one fake clock for every breaker, no transition logs,
// a breaker driven open and half-open, and one breaker replaced through its token.
import { describe, expect, it, jest } from '@jest/globals';
import { Injectable, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type Breaker, CircuitBreaker, CircuitBreakerOpenError, getCircuitBreakerToken, InjectCircuitBreaker } from 'nestjs-circuit-breaker';
import { CircuitBreakerTesting, CircuitBreakerTestingModule } from 'nestjs-circuit-breaker/testing';

@Injectable()
class PaymentGateway {
  async charge(amount: number): Promise<string> {
    return `receipt-${amount}`;
  }
}

@Injectable()
class PaymentService {
  constructor(private readonly gateway: PaymentGateway) {}

  @CircuitBreaker('payments')
  async pay(amount: number): Promise<string> {
    return this.gateway.charge(amount);
  }
}

@Injectable()
class RefundService {
  constructor(@InjectCircuitBreaker('refunds') private readonly breaker: Breaker) {}

  refund(id: string): Promise<string> {
    return this.breaker.execute(async () => `refunded-${id}`);
  }
}

async function setUp() {
  const moduleRef = await Test.createTestingModule({
    imports: [CircuitBreakerTestingModule.forRoot({ breakers: { payments: { failureThreshold: 2, resetTimeoutMs: 30_000 } } })],
    providers: [PaymentService, PaymentGateway, RefundService],
  }).compile();
  await moduleRef.init(); // decorated methods are wrapped here
  return moduleRef;
}

describe('PaymentService', () => {
  it('pays while the payments circuit is closed', async () => {
    const moduleRef = await setUp();
    await expect(moduleRef.get(PaymentService).pay(10)).resolves.toBe('receipt-10');
    await moduleRef.close();
  });

  it('fails fast with the breaker open, without reaching the gateway', async () => {
    const moduleRef = await setUp();
    const gateway = moduleRef.get(PaymentGateway);
    const charge = jest.spyOn(gateway, 'charge');
    await moduleRef.get(CircuitBreakerTesting).open('payments');
    await expect(moduleRef.get(PaymentService).pay(10)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(charge).not.toHaveBeenCalled();
    await moduleRef.close();
  });

  it('opens after two gateway failures and closes again after a good probe, on the fake clock', async () => {
    const moduleRef = await setUp();
    const service = moduleRef.get(PaymentService);
    const breakers = moduleRef.get(CircuitBreakerTesting);
    const charge = jest.spyOn(moduleRef.get(PaymentGateway), 'charge').mockRejectedValue(new Error('gateway down'));
    await expect(service.pay(1)).rejects.toThrow('gateway down');
    await expect(service.pay(1)).rejects.toThrow('gateway down');
    expect(breakers.breaker('payments').state).toBe('open');
    breakers.advance(30_000);
    expect(breakers.breaker('payments').state).toBe('half_open');
    charge.mockResolvedValue('receipt-1');
    await expect(service.pay(1)).resolves.toBe('receipt-1');
    expect(breakers.breaker('payments').state).toBe('closed');
    await moduleRef.close();
  });

  it('logs no state change in tests', async () => {
    const log = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const moduleRef = await setUp();
    await moduleRef.get(CircuitBreakerTesting).open('payments');
    expect(log.mock.calls.filter(([message]) => String(message).includes('CLOSED → OPEN'))).toEqual([]);
    log.mockRestore();
    await moduleRef.close();
  });
});

describe('RefundService with its breaker replaced', () => {
  it('uses the breaker given for the token', async () => {
    const fake = { execute: jest.fn(async () => 'from the fake breaker') };
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerTestingModule.forRoot()],
      providers: [RefundService],
    })
      .overrideProvider(getCircuitBreakerToken('refunds'))
      .useValue(fake)
      .compile();
    await moduleRef.init();
    await expect(moduleRef.get(RefundService).refund('r1')).resolves.toBe('from the fake breaker');
    expect(fake.execute).toHaveBeenCalledTimes(1);
    await moduleRef.close();
  });
});
