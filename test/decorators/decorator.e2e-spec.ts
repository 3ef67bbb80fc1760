import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, type LoggerService, NotFoundException, Scope, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { firstValueFrom, lastValueFrom, Observable, Subject, toArray } from 'rxjs';
import {
  type Breaker,
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  type CircuitBreakerModuleOptions,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
  InjectCircuitBreaker,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const ROLE = 'test:role';

@Injectable()
class PaymentsService {
  calls = 0;
  failing = true;

  @CircuitBreaker('payments')
  async charge(amount: number): Promise<string> {
    this.calls++;
    if (this.failing) throw new Error(`charge ${amount} failed`);
    return `charged ${amount}`;
  }

  @CircuitBreaker('ledger')
  @SetMetadata(ROLE, 'admin')
  total(a: number, b: number): number {
    this.calls++;
    if (this.failing) throw new Error('ledger down');
    return a + b;
  }

  @CircuitBreaker('payments')
  async refund(amount: number): Promise<string> {
    this.calls++;
    throw new NotFoundException(`no charge of ${amount}`);
  }
}

@Injectable()
class QuotesService {
  subscriptions = 0;
  source = new Subject<number>();

  @CircuitBreaker('quotes')
  prices(): Observable<number> {
    return new Observable<number>((subscriber) => {
      this.subscriptions++;
      return this.source.subscribe(subscriber);
    });
  }

  @CircuitBreaker('quotes-fallback', { failureThreshold: 1, fallback: 'cachedPrices' })
  livePrices(symbol: string): Observable<number> {
    return new Observable<number>((subscriber) => subscriber.error(new Error(`${symbol} feed down`)));
  }

  cachedPrices(error: unknown, symbol: string): number[] {
    return [symbol.length, this.subscriptions];
  }
}

@Injectable()
class Programmatic {
  constructor(@InjectCircuitBreaker('payments') readonly breaker: Breaker) {}
}

const clock = new FakeClock();

async function createApp(options: CircuitBreakerModuleOptions = {}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      CircuitBreakerModule.forRoot({ defaults: { clock, failureThreshold: 3, resetTimeoutMs: 30_000 }, ...options }),
      CircuitBreakerModule.forFeature(['payments']),
    ],
    providers: [PaymentsService, QuotesService, Programmatic],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('@CircuitBreaker on service methods', () => {
  let app: INestApplication;
  afterEach(async () => {
    await app?.close();
  });

  it('opens after the configured failures; the next call rejects without running the method', async () => {
    app = await createApp({ breakers: { payments: { failureThreshold: 2 } } });
    const payments = app.get(PaymentsService);
    await expect(payments.charge(1)).rejects.toThrow('charge 1 failed');
    await expect(payments.charge(2)).rejects.toThrow('charge 2 failed');
    expect(payments.calls).toBe(2);

    const rejected = payments.charge(3);
    expect(rejected).toBeInstanceOf(Promise); // Promise stays Promise, even when open
    await expect(rejected).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(payments.calls).toBe(2);
    expect(app.get(CircuitBreakerRegistry).get('payments')!.state).toBe('open');

    clock.advance(30_000);
    payments.failing = false;
    await expect(payments.charge(4)).resolves.toBe('charged 4');
    expect(app.get(CircuitBreakerRegistry).get('payments')!.state).toBe('closed');
  });

  it('keeps a sync method sync, with its this and arguments', async () => {
    app = await createApp();
    const payments = app.get(PaymentsService);
    payments.failing = false;
    expect(payments.total(2, 3)).toBe(5);
    payments.failing = true;
    for (let i = 0; i < 3; i++) expect(() => payments.total(1, 1)).toThrow('ledger down');
    expect(() => payments.total(1, 1)).toThrow(CircuitBreakerOpenError);
    expect(payments.calls).toBe(4);
  });

  it('ignores an HttpException below 500: it never opens the breaker', async () => {
    app = await createApp({ breakers: { payments: { failureThreshold: 1 } } });
    const payments = app.get(PaymentsService);
    for (let i = 0; i < 3; i++) await expect(payments.refund(i)).rejects.toBeInstanceOf(NotFoundException);
    const snapshot = app.get(CircuitBreakerRegistry).get('payments')!.snapshot();
    expect(snapshot.state).toBe('closed');
    expect(snapshot.total_ignored).toBe(3);
    expect(snapshot.total_failures).toBe(0);
  });

  it('keeps the metadata of other decorators readable through Reflector', async () => {
    app = await createApp();
    const payments = app.get(PaymentsService);
    expect(Object.prototype.hasOwnProperty.call(payments, 'total')).toBe(true); // wrapped on the instance
    expect(app.get(Reflector).get(ROLE, payments.total)).toBe('admin');
    expect(payments.total.name).toBe('total');
  });

  it('shares one breaker between methods naming it, and with @InjectCircuitBreaker', async () => {
    app = await createApp({ breakers: { payments: { failureThreshold: 2 } } });
    const payments = app.get(PaymentsService);
    const breaker = app.get(Programmatic).breaker;
    expect(breaker).toBe(app.get(CircuitBreakerRegistry).get('payments'));
    await expect(payments.charge(1)).rejects.toThrow();
    await expect(breaker.execute(async () => {
      throw new Error('direct');
    })).rejects.toThrow('direct');
    await expect(payments.refund(1)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
  });

  describe('Observable methods', () => {
    it('are cold: nothing runs and no permit is taken before subscribe', async () => {
      app = await createApp();
      const quotes = app.get(QuotesService);
      const prices$ = quotes.prices();
      expect(quotes.subscriptions).toBe(0);
      expect(app.get(CircuitBreakerRegistry).get('quotes')!.snapshot().total_requests).toBe(0);
      const values = lastValueFrom(prices$.pipe(toArray()));
      expect(quotes.subscriptions).toBe(1);
      quotes.source.next(1);
      quotes.source.next(2);
      quotes.source.next(3);
      quotes.source.complete();
      expect(await values).toEqual([1, 2, 3]);
      const snapshot = app.get(CircuitBreakerRegistry).get('quotes')!.snapshot();
      expect(snapshot.total_successes).toBe(1); // three values, one call
      expect(snapshot.total_requests).toBe(1);
    });

    it('count each subscription as a call, the first error as a failure, and reject on subscribe when open', async () => {
      app = await createApp();
      const quotes = app.get(QuotesService);
      for (let i = 0; i < 3; i++) {
        const outcome = firstValueFrom(quotes.prices());
        quotes.source.error(new Error('feed down'));
        quotes.source = new Subject<number>();
        await expect(outcome).rejects.toThrow('feed down');
      }
      expect(app.get(CircuitBreakerRegistry).get('quotes')!.state).toBe('open');
      const rejected$ = quotes.prices(); // no throw at call time: the rejection comes on subscribe
      await expect(firstValueFrom(rejected$)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
      expect(quotes.subscriptions).toBe(3);
    });

    it('release the half-open permit on unsubscribe, counting neither success nor failure', async () => {
      app = await createApp({ breakers: { quotes: { failureThreshold: 1 } } });
      const quotes = app.get(QuotesService);
      const first = firstValueFrom(quotes.prices());
      quotes.source.error(new Error('feed down'));
      await expect(first).rejects.toThrow();
      clock.advance(30_000);
      quotes.source = new Subject<number>();

      const breaker = app.get(CircuitBreakerRegistry).get('quotes')!;
      expect(breaker.state).toBe('half_open');
      const probe = quotes.prices().subscribe();
      // The only probe slot is taken: a second subscriber is rejected.
      await expect(firstValueFrom(quotes.prices())).rejects.toBeInstanceOf(CircuitBreakerOpenError);
      const before = breaker.snapshot();
      probe.unsubscribe();
      const after = breaker.snapshot();
      expect(after.state).toBe('half_open');
      expect(after.total_successes).toBe(before.total_successes);
      expect(after.total_failures).toBe(before.total_failures);
      // The slot is free again: the next probe decides.
      const next = lastValueFrom(quotes.prices());
      quotes.source.next(7);
      quotes.source.complete();
      await expect(next).resolves.toBe(7);
      expect(breaker.state).toBe('closed');
    });

    it('apply a fallback method with this bound and the call arguments', async () => {
      app = await createApp();
      const quotes = app.get(QuotesService);
      await expect(lastValueFrom(quotes.livePrices('ACME').pipe(toArray()))).resolves.toEqual([[4, 0]]);
      // Open now: the fallback answers without a call.
      await expect(lastValueFrom(quotes.livePrices('AB').pipe(toArray()))).resolves.toEqual([[2, 0]]);
      expect(app.get(CircuitBreakerRegistry).get('quotes-fallback')!.snapshot().total_rejections).toBe(1);
    });
  });

  it('gives two applications created one after the other no shared breaker state', async () => {
    app = await createApp({ breakers: { payments: { failureThreshold: 1 } } });
    await expect(app.get(PaymentsService).charge(1)).rejects.toThrow();
    const first = app.get(CircuitBreakerRegistry).get('payments')!;
    expect(first.state).toBe('open');
    await app.close();

    app = await createApp({ breakers: { payments: { failureThreshold: 1 } } });
    const second = app.get(CircuitBreakerRegistry).get('payments')!;
    expect(second).not.toBe(first);
    expect(second.state).toBe('closed');
    expect(second.snapshot().total_requests).toBe(0);
  });

  it('wraps instances made by factory providers too', async () => {
    class Made {
      @CircuitBreaker('made', { failureThreshold: 1 })
      run(): never {
        throw new Error('made down');
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { clock } })],
      providers: [{ provide: 'MADE', useFactory: () => new Made() }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const made = app.get<Made>('MADE');
    expect(() => made.run()).toThrow('made down');
    expect(() => made.run()).toThrow(CircuitBreakerOpenError);
  });

  it('warns about a request-scoped provider and leaves it unwrapped', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @CircuitBreaker('per-request', { failureThreshold: 1 })
      run(): never {
        throw new Error('down');
      }
    }
    const warnings: string[] = [];
    const logger: LoggerService = { log: () => undefined, error: () => undefined, warn: (m: string) => warnings.push(m) };
    const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot({})], providers: [PerRequest] }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    expect(warnings).toEqual([expect.stringContaining('PerRequest is request-scoped') as unknown as string]);
    expect(warnings[0]).toContain('@CircuitBreaker on run is not applied');
    const instance = await app.resolve(PerRequest);
    for (let i = 0; i < 2; i++) expect(() => instance.run()).toThrow('down');
    expect(app.get(CircuitBreakerRegistry).has('per-request')).toBe(false);
  });

  it('fails the boot when a fallback names no method of the class', async () => {
    @Injectable()
    class NoFallback {
      @CircuitBreaker({ fallback: 'missing' })
      run(): number {
        return 1;
      }
    }
    const creating = Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot({})], providers: [NoFallback] }).compile();
    await expect(creating).rejects.toThrow('NoFallback.run @CircuitBreaker.fallback: expected the name of a method of NoFallback, received "missing"');
  });

  it('fails the boot naming both methods when two decorators give one breaker different options', async () => {
    @Injectable()
    class A {
      @CircuitBreaker('shared', { failureThreshold: 2 })
      one(): number {
        return 1;
      }
    }
    @Injectable()
    class B {
      @CircuitBreaker('shared', { failureThreshold: 4 })
      two(): number {
        return 2;
      }
    }
    const creating = Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot({})], providers: [A, B] }).compile();
    await expect(creating).rejects.toBeInstanceOf(CircuitBreakerConfigError);
    await expect(creating).rejects.toThrow(/A\.one and B\.two give 'shared' different options/);
  });
});
