import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
  Retry,
  RetryExhaustedError,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const NO_WAIT = { maxAttempts: 3, baseDelayMs: 0, jitter: false } as const;

@Injectable()
class Flaky {
  attempts = 0;

  /** One breaker call per retry sequence. */
  @CircuitBreaker('outer', { failureThreshold: 2 })
  @Retry(NO_WAIT)
  async breakerAbove(): Promise<never> {
    this.attempts++;
    throw new Error('flaky');
  }

  /** Every attempt is a breaker call; once it opens, retrying stops. */
  @Retry(NO_WAIT)
  @CircuitBreaker('inner', { failureThreshold: 2 })
  async breakerBelow(): Promise<never> {
    this.attempts++;
    throw new Error('flaky');
  }
}

@Controller('flaky')
class FlakyController {
  attempts = 0;

  @Get()
  @CircuitBreaker('route', { failureThreshold: 1 })
  @Retry(NO_WAIT)
  get() {
    if (++this.attempts < 3) throw new Error('flaky');
    return { attempts: this.attempts };
  }

  retryOnlyAttempts = 0;

  /** @Retry alone on a route: retried by the interceptor it applies itself. */
  @Get('retry-only')
  @Retry(NO_WAIT)
  retryOnly() {
    if (++this.retryOnlyAttempts < 3) throw new Error('flaky');
    return { attempts: this.retryOnlyAttempts };
  }
}

describe('@CircuitBreaker with @Retry: the decorator order decides the nesting', () => {
  let app: INestApplication;
  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { clock: new FakeClock() } })],
      controllers: [FlakyController],
      providers: [Flaky],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(async () => {
    await app.close();
  });

  it('@CircuitBreaker above @Retry: the breaker sees one call per retry sequence', async () => {
    const flaky = app.get(Flaky);
    await expect(flaky.breakerAbove()).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(flaky.attempts).toBe(3);
    const breaker = app.get(CircuitBreakerRegistry).get('outer')!;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_failures: 1 });
  });

  it('@CircuitBreaker below @Retry: every attempt counts, and an open breaker ends the retries', async () => {
    const flaky = app.get(Flaky);
    await expect(flaky.breakerBelow()).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(flaky.attempts).toBe(2);
    const breaker = app.get(CircuitBreakerRegistry).get('inner')!;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', total_failures: 2, total_rejections: 1 });
  });

  it('retries a route handler inside its breaker: one breaker call for the request', async () => {
    await request(app.getHttpServer()).get('/flaky').expect(200, { attempts: 3 });
    expect(app.get(CircuitBreakerRegistry).get('route')!.snapshot()).toMatchObject({ state: 'closed', total_successes: 1, total_failures: 0 });
  });

  it('retries a route handler that has @Retry alone', async () => {
    await request(app.getHttpServer()).get('/flaky/retry-only').expect(200, { attempts: 3 });
  });

  it('fails the boot on invalid @Retry options, naming the method', async () => {
    @Injectable()
    class Bad {
      @CircuitBreaker()
      @Retry({ maxAttempts: 0 })
      run(): number {
        return 1;
      }
    }
    const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot({})], providers: [Bad] }).compile();
    const bad = moduleRef.createNestApplication({ logger: false });
    const init = bad.init();
    await expect(init).rejects.toBeInstanceOf(CircuitBreakerConfigError);
    await expect(init).rejects.toThrow('Bad.run @Retry.maxAttempts');
  });
});
