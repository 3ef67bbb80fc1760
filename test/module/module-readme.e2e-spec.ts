// The examples of the README's "Using it in NestJS" section, with bodies in place of `…`.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type ExecutionContext, Get, Injectable, type INestApplication, Module, Param } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import request from 'supertest';
import { circuitBreakerConfig } from '../../lib/config/index.js';
import {
  type Breaker,
  CircuitBreaker,
  circuitBreakerConfigFromEnv,
  CircuitBreakerExceptionFilter,
  CircuitBreakerModule,
  type CircuitBreakerModuleOptions,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
  InjectCircuitBreaker,
} from '../../lib/index.js';

interface Order { id: string; amount: number }
interface Receipt { orderId: string }
interface Rate { currency: string; rate: number }

@Injectable()
class Gateways {
  up = false;
  charge(order: Order): Promise<Receipt> {
    return this.up ? Promise.resolve({ orderId: order.id }) : Promise.reject(new Error('card network down'));
  }
  balance(): number {
    if (!this.up) throw new Error('ledger down');
    return 100;
  }
  rates(): Observable<Rate> {
    return new Observable((s) => (this.up ? (s.next({ currency: 'EUR', rate: 1.1 }), s.complete()) : s.error(new Error('rates down'))));
  }
  stock(sku: string): Promise<number> {
    return this.up ? Promise.resolve(sku.length) : Promise.reject(new Error('warehouse down'));
  }
}

@Injectable()
class PaymentsService {
  constructor(private readonly gateways: Gateways) {}

  @CircuitBreaker('payments')
  async charge(order: Order): Promise<Receipt> {
    return this.gateways.charge(order);
  }

  @CircuitBreaker({ failureThreshold: 2 })
  balance(accountId: string): number {
    void accountId;
    return this.gateways.balance();
  }

  @CircuitBreaker('rates', { callTimeoutMs: 2_000, fallback: 'cachedRates' })
  rates(): Observable<Rate> {
    return this.gateways.rates();
  }

  cachedRates(error: unknown): Rate[] {
    void error;
    return [{ currency: 'EUR', rate: 1 }];
  }
}

@Controller('quotes')
class QuotesController {
  private readonly cache = { quote: (symbol: string) => ({ symbol, price: 42, cached: true }) };

  @Get(':symbol')
  @CircuitBreaker('quotes', { fallback: 'cachedQuote' })
  quote(@Param('symbol') symbol: string) {
    throw new Error(`no quote for ${symbol}`);
  }

  cachedQuote(error: unknown, context: ExecutionContext) {
    const { symbol } = context.switchToHttp().getRequest().params;
    return this.cache.quote(symbol);
  }
}

@Injectable()
class Reports {
  constructor(
    private readonly registry: CircuitBreakerRegistry,
    @InjectCircuitBreaker('warehouse') private readonly warehouse: Breaker,
    private readonly client: Gateways,
  ) {}

  stock(sku: string) {
    return this.warehouse.execute(() => this.client.stock(sku));
  }
}

@Module({ imports: [CircuitBreakerModule.forFeature(['warehouse'])], providers: [Reports, Gateways], exports: [Reports] })
class ReportsModule {}

@Module({
  imports: [
    CircuitBreakerModule.forRoot({
      defaults: { failureThreshold: 5, resetTimeoutMs: 60_000 },
      configs: {
        slowApis: { window: { type: 'time', durationMs: 60_000 }, slowCallDurationMs: 2_000, slowCallRateThreshold: 50 },
      },
      breakers: { payments: { failureThreshold: 3 }, openai: { extends: 'slowApis' } },
    }),
    ReportsModule,
  ],
  controllers: [QuotesController],
  providers: [
    PaymentsService,
    Gateways,
    { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter },
  ],
})
class AppModule {}

describe('the README examples of "Using it in NestJS"', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function boot(module: object): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({ imports: [module as never] }).compile();
    const created = moduleRef.createNestApplication({ logger: false });
    await created.init();
    return created;
  }

  it('registers the module, protects the service methods and routes, and serves fallbacks', async () => {
    app = await boot(AppModule);
    const payments = app.get(PaymentsService);
    for (let i = 0; i < 3; i++) await expect(payments.charge({ id: 'o1', amount: 5 })).rejects.toThrow('card network down');
    await expect(payments.charge({ id: 'o1', amount: 5 })).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    for (let i = 0; i < 2; i++) expect(() => payments.balance('acc')).toThrow('ledger down');
    expect(() => payments.balance('acc')).toThrow(CircuitBreakerOpenError);
    expect(app.get(CircuitBreakerRegistry).get('PaymentsService.balance')!.state).toBe('open');
    await expect(lastValueFrom(payments.rates().pipe(toArray()))).resolves.toEqual([[{ currency: 'EUR', rate: 1 }]]);

    await request(app.getHttpServer()).get('/quotes/ACME').expect(200, { symbol: 'ACME', price: 42, cached: true });

    const reports = app.get(Reports);
    await expect(reports.stock('sku-1')).rejects.toThrow('warehouse down');
    expect(app.get(CircuitBreakerRegistry).get('warehouse')!.snapshot().total_failures).toBe(1);
  });

  it('reads the options from ConfigService in forRootAsync', async () => {
    @Module({
      imports: [
        CircuitBreakerModule.forRootAsync({
          imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ circuitBreaker: { breakers: { payments: { failureThreshold: 1 } } } })] })],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<CircuitBreakerModuleOptions>('circuitBreaker'),
        }),
      ],
      providers: [PaymentsService, Gateways],
    })
    class AsyncModule {}
    app = await boot(AsyncModule);
    await expect(app.get(PaymentsService).charge({ id: 'o', amount: 1 })).rejects.toThrow();
    expect(app.get(CircuitBreakerRegistry).get('payments')!.state).toBe('open');
  });

  it('combines environment variables with options in code, the environment winning', async () => {
    const env = circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER_TIMEOUT: '10', CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD: '7' });
    @Module({
      imports: [
        CircuitBreakerModule.forRoot({
          ...env,
          defaults: { resetTimeoutMs: 30_000, ...env.defaults },
          breakers: { payments: { failureThreshold: 3 }, ...env.breakers }, // PAYMENTS matches payments, applied after it
        }),
      ],
      providers: [PaymentsService, Gateways],
    })
    class EnvModule {}
    app = await boot(EnvModule);
    expect(app.get(CircuitBreakerRegistry).get('payments')!.options).toMatchObject({ failureThreshold: 7, resetTimeoutMs: 10_000 });
  });

  it('loads the @nestjs/config namespace of nestjs-circuit-breaker/config', async () => {
    const saved = process.env.CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD;
    process.env.CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD = '2';
    try {
      @Module({
        imports: [
          ConfigModule.forRoot({ ignoreEnvFile: true, load: [circuitBreakerConfig] }),
          CircuitBreakerModule.forRootAsync(circuitBreakerConfig.asProvider()),
        ],
        providers: [PaymentsService, Gateways],
      })
      class ConfigNamespaceModule {}
      app = await boot(ConfigNamespaceModule);
      expect(app.get(CircuitBreakerRegistry).get('payments')!.options.failureThreshold).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD;
      else process.env.CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD = saved;
    }
  });
});
