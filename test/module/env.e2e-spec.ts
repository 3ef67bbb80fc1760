import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { circuitBreakerConfig } from '../../lib/config/index.js';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  circuitBreakerConfigFromEnv,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
} from '../../lib/index.js';

@Injectable()
class PaymentsApi {
  calls = 0;

  @CircuitBreaker('payments-api', { failureThreshold: 5 })
  async charge(): Promise<never> {
    this.calls++;
    throw new Error('declined by the network');
  }
}

const VARIABLES = [
  'CIRCUIT_BREAKER_FAILURE_THRESHOLD',
  'CIRCUIT_BREAKER_TIMEOUT',
  'CIRCUIT_BREAKER_HALF_OPEN_CALLS',
  'CIRCUIT_BREAKER__PAYMENTS_API__FAILURE_THRESHOLD',
  'CIRCUIT_BREAKER__payments_api__TIMEOUT',
];

describe('configuration from environment variables', () => {
  let app: INestApplication | undefined;
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(VARIABLES.map((v) => [v, process.env[v]]));
  });
  afterEach(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await app?.close();
    app = undefined;
  });

  /** Boots through @nestjs/config, as an application reading a .env file would. */
  async function boot(env: Record<string, string>): Promise<INestApplication> {
    Object.assign(process.env, env);
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [circuitBreakerConfig] }),
        CircuitBreakerModule.forRootAsync(circuitBreakerConfig.asProvider()),
      ],
      providers: [PaymentsApi],
    }).compile();
    const created = moduleRef.createNestApplication({ logger: false });
    await created.init();
    return created;
  }

  it.each([
    ['CIRCUIT_BREAKER_FAILURE_THRESHOLD', 'abc', 'expected an integer >= 1'],
    ['CIRCUIT_BREAKER_FAILURE_THRESHOLD', '0', 'expected an integer >= 1'],
    ['CIRCUIT_BREAKER_TIMEOUT', '-1', 'expected a number of seconds >= 0, e.g. 30 or 0.5'],
  ])('%s=%s fails app creation naming the variable, the value and what is expected', async (variable, value, expected) => {
    const creating = boot({ [variable]: value });
    await expect(creating).rejects.toBeInstanceOf(CircuitBreakerConfigError);
    await expect(creating).rejects.toThrow(`${variable}: ${expected}, received "${value}"`);
  });

  it('applies defaults and a per-breaker override (the name matched case-insensitively, - read as _)', async () => {
    app = await boot({
      CIRCUIT_BREAKER_TIMEOUT: '45',
      CIRCUIT_BREAKER_HALF_OPEN_CALLS: '2',
      CIRCUIT_BREAKER__PAYMENTS_API__FAILURE_THRESHOLD: '2',
      CIRCUIT_BREAKER__payments_api__TIMEOUT: '0.5',
    });
    const options = app.get(CircuitBreakerRegistry).get('payments-api')!.options;
    expect(options.halfOpenMaxCalls).toBe(2);
    expect(options.resetTimeoutMs).toBe(500); // the breaker's own variable over CIRCUIT_BREAKER_TIMEOUT
    expect(options.failureThreshold).toBe(2); // the deployment over the decorator's 5

    const api = app.get(PaymentsApi);
    for (let i = 0; i < 3; i++) await expect(api.charge()).rejects.toThrow();
    expect(api.calls).toBe(2);
    expect(app.get(CircuitBreakerRegistry).get('payments-api')!.state).toBe('open');
  });

  it('works with forRoot(circuitBreakerConfigFromEnv(env)) too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot(circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER__PAYMENTS_API__FAILURE_THRESHOLD: '1' }))],
      providers: [PaymentsApi],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    await expect(app.get(PaymentsApi).charge()).rejects.toThrow('declined');
    expect(app.get(CircuitBreakerRegistry).get('payments-api')!.state).toBe('open');
  });
});
