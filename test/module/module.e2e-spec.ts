import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, type LoggerService, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from '../../lib/constants.js';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  type CircuitBreakerModuleOptions,
  CircuitBreakerRegistry,
} from '../../lib/index.js';
import type { ResolvedCircuitBreakerModuleOptions } from '../../lib/options/module-options.interface.js';
import { FakeClock } from '../../lib/testing/index.js';

@Injectable()
class Payments {
  @CircuitBreaker('payments', { failureThreshold: 4, resetTimeoutMs: 10_000 })
  async charge(): Promise<never> {
    throw new Error('card network down');
  }

  @CircuitBreaker('ledger')
  balance(): number {
    return 0;
  }
}

@Injectable()
class Completions {
  @CircuitBreaker('openai', { extends: 'slowApis', slowCallDurationMs: 5_000, failureThreshold: 2 })
  async complete(): Promise<string> {
    return 'ok';
  }
}

class RecordingLogger implements LoggerService {
  readonly lines: { level: string; message: string; context?: string }[] = [];
  log(message: string, context?: string) {
    this.lines.push({ level: 'log', message, context });
  }
  error(message: string, ...rest: string[]) {
    this.lines.push({ level: 'error', message, context: rest.at(-1) });
  }
  warn(message: string, context?: string) {
    this.lines.push({ level: 'warn', message, context });
  }
  debug() {}
  verbose() {}
}

const clock = new FakeClock();

type Metadata = Parameters<typeof Test.createTestingModule>[0];

async function start(imports: Metadata['imports'], logger: LoggerService | false = false, providers: Metadata['providers'] = [Payments]) {
  const builder = Test.createTestingModule({ imports, providers });
  if (logger !== false) builder.setLogger(logger);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  return app;
}

describe('CircuitBreakerModule', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('applies the precedence defaults ← decorator ← configs[extends] ← breakers[name]', async () => {
    app = await start([
      CircuitBreakerModule.forRoot({
        defaults: { clock, failureThreshold: 9, resetTimeoutMs: 60_000, halfOpenMaxCalls: 2 },
        configs: { slowApis: { window: { type: 'count', size: 20 }, slowCallRateThreshold: 50, resetTimeoutMs: 20_000 } },
        breakers: { payments: { resetTimeoutMs: 5_000 }, openai: { halfOpenMaxCalls: 3 } },
      }),
    ], false, [Payments, Completions]);
    const registry = app.get(CircuitBreakerRegistry);
    const payments = registry.get('payments')!.options;
    expect(payments.failureThreshold).toBe(4); // decorator over defaults
    expect(payments.resetTimeoutMs).toBe(5_000); // breakers[name] over the decorator
    expect(payments.halfOpenMaxCalls).toBe(2); // defaults
    const openai = registry.get('openai')!.options;
    expect(openai.window).toEqual({ type: 'count', size: 20 });
    expect(openai.resetTimeoutMs).toBe(20_000); // configs[extends] over defaults
    expect(openai.slowCallDurationMs).toBe(5_000); // decorator
    expect(openai.halfOpenMaxCalls).toBe(3);
    expect(openai.countRule).toBe(2); // explicit in the decorator: an in-window count rule
  });

  it('never lets defaults.failureThreshold reach a windowed breaker', async () => {
    app = await start([
      CircuitBreakerModule.forRoot({
        defaults: { clock, failureThreshold: 3 },
        breakers: { windowed: { window: { type: 'count', size: 10 }, failureRateThreshold: 50 } },
      }),
    ]);
    const registry = app.get(CircuitBreakerRegistry);
    expect(registry.getOrCreate('windowed').options.countRule).toBeNull();
    expect(registry.getOrCreate('plain').options.countRule).toBe(3);
  });

  it('forRootAsync reads ConfigService through useFactory, imports and inject', async () => {
    const settings = () => ({ breakers: { payments: { failureThreshold: 1 } } });
    app = await start([
      CircuitBreakerModule.forRootAsync({
        imports: [ConfigModule.forRoot({ load: [() => ({ circuitBreaker: settings() })], ignoreEnvFile: true })],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({ ...config.get<CircuitBreakerModuleOptions>('circuitBreaker'), defaults: { clock } }),
      }),
    ]);
    await expect(app.get(Payments).charge()).rejects.toThrow('card network down');
    expect(app.get(CircuitBreakerRegistry).get('payments')!.state).toBe('open');
  });

  it('forRootAsync takes useClass and useExisting factories', async () => {
    @Injectable()
    class Options {
      create(): CircuitBreakerModuleOptions {
        return { defaults: { clock }, breakers: { payments: { failureThreshold: 7 } } };
      }
    }
    app = await start([CircuitBreakerModule.forRootAsync({ useClass: Options })]);
    expect(app.get(CircuitBreakerRegistry).get('payments')!.options.failureThreshold).toBe(7);
    await app.close();

    @Module({ providers: [Options], exports: [Options] })
    class OptionsModule {}
    app = await start([CircuitBreakerModule.forRootAsync({ imports: [OptionsModule], useExisting: Options })]);
    expect(app.get(CircuitBreakerRegistry).get('payments')!.options.failureThreshold).toBe(7);
  });

  it('enabled: false makes every breaker disabled: calls pass and are counted', async () => {
    app = await start([CircuitBreakerModule.forRoot({ enabled: false, defaults: { clock, failureThreshold: 1 } })]);
    const payments = app.get(Payments);
    for (let i = 0; i < 3; i++) await expect(payments.charge()).rejects.toThrow('card network down');
    const snapshot = app.get(CircuitBreakerRegistry).get('payments')!.snapshot();
    expect(snapshot.state).toBe('disabled');
    expect(snapshot.total_failures).toBe(3);
  });

  it('strict: true fails the boot on a name missing from breakers, naming class, method and name', async () => {
    const creating = start([CircuitBreakerModule.forRoot({ strict: true, breakers: { PAYMENTS: {} } })]);
    await expect(creating).rejects.toBeInstanceOf(CircuitBreakerConfigError);
    await expect(creating).rejects.toThrow("Payments.balance @CircuitBreaker('ledger')");
    // 'payments' matches the key PAYMENTS as environment variables spell it: no complaint about it.
    await expect(creating).rejects.not.toThrow("Payments.charge @CircuitBreaker('payments')");
  });

  it('rejects invalid options at boot, listing every problem with its path', async () => {
    const creating = start([
      CircuitBreakerModule.forRoot({
        defaults: { failureThreshold: 0 },
        breakers: { 'bad name!': {}, events: {}, payments: { extends: 'nope', resetTimeoutMs: -1 } },
      } as CircuitBreakerModuleOptions),
    ]);
    await expect(creating).rejects.toBeInstanceOf(CircuitBreakerConfigError);
    const message = await creating.catch((error: Error) => error.message);
    expect(message).toContain('defaults.failureThreshold: expected an integer >= 1, received 0');
    expect(message).toContain('breakers.bad name!: expected a breaker name matching');
    expect(message).toContain('breakers.events: is reserved for the management API');
    expect(message).toContain('breakers.payments.extends: names a config, but `configs` is empty, received "nope"');
    expect(message).toContain('breakers.payments.resetTimeoutMs: expected a duration in ms >= 0, received -1');
  });

  it('is global by default and local with isGlobal: false', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly registry: CircuitBreakerRegistry) {}
    }
    @Module({ providers: [Consumer] })
    class FeatureModule {}
    app = await start([CircuitBreakerModule.forRoot(), FeatureModule]); // every option has a default
    expect(app.get(Consumer).registry).toBe(app.get(CircuitBreakerRegistry));
    await app.close();
    app = undefined;
    await expect(start([CircuitBreakerModule.forRoot({ isGlobal: false }), FeatureModule])).rejects.toThrow(/CircuitBreakerRegistry/);
  });

  it('logs an OPEN transition at error level in the SPEC form, context CircuitBreaker', async () => {
    const logger = new RecordingLogger();
    app = await start([CircuitBreakerModule.forRoot({ defaults: { clock }, breakers: { payments: { failureThreshold: 3 } } })], logger);
    const payments = app.get(Payments);
    for (let i = 0; i < 3; i++) await expect(payments.charge()).rejects.toThrow();
    expect(logger.lines).toContainEqual({ level: 'error', message: "CircuitBreaker 'payments': CLOSED → OPEN (threshold reached: 3/3)", context: 'CircuitBreaker' });
    app.get(CircuitBreakerRegistry).forceOpen('payments');
    expect(logger.lines).toContainEqual({ level: 'warn', message: "CircuitBreaker 'payments': OPEN → FORCED_OPEN (forced open)", context: 'CircuitBreaker' });
    app.get(CircuitBreakerRegistry).reset('payments');
    expect(logger.lines).toContainEqual({ level: 'log', message: "CircuitBreaker 'payments': FORCED_OPEN → CLOSED (manual reset)", context: 'CircuitBreaker' });
  });

  describe('management options', () => {
    const resolved = (a: INestApplication) => a.get<ResolvedCircuitBreakerModuleOptions>(CIRCUIT_BREAKER_MODULE_OPTIONS);

    it('forRoot keeps them whole in the resolved options', async () => {
      app = await start([CircuitBreakerModule.forRoot({ management: { enabled: true, path: '/ops/breakers/', token: 's3cret' } })]);
      expect(resolved(app).management).toEqual({ enabled: true, path: 'ops/breakers', token: 's3cret', guards: [] });
    });

    it('forRootAsync takes the path from the extra and the rest from the factory', async () => {
      app = await start([
        CircuitBreakerModule.forRootAsync({
          management: { path: 'admin/breakers' },
          useFactory: () => ({ management: { enabled: true, token: 'from-config', path: 'ignored' } }),
        }),
      ]);
      expect(resolved(app).management).toEqual({ enabled: true, path: 'admin/breakers', token: 'from-config', guards: [] });
    });

    it('forRootAsync without the extra mounts nothing and says so', async () => {
      const logger = new RecordingLogger();
      app = await start([CircuitBreakerModule.forRootAsync({ useFactory: () => ({ management: { enabled: true } }) })], logger);
      expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('no management routes are mounted'))).toBe(true);
    });
  });
});
