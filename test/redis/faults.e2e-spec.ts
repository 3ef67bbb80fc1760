import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { BadGatewayException, Controller, Get, Injectable, type INestApplication, type LoggerService } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { config as rxjsConfig, defer, firstValueFrom, type Observable } from 'rxjs';
import request from 'supertest';
import {
  CallTimeoutError,
  CircuitBreaker,
  CircuitBreakerExceptionFilter,
  CircuitBreakerModule,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

// Faults, each through a real Nest application with @CircuitBreaker, each with the outcome the README
// ("Reliability") documents: a dependency that hangs (with and without callTimeoutMs), a method that
// throws something that is not an Error, a rejected thenable, a synchronous throw from a method
// declared to return a Promise, a throwing listener, a throwing fallback.

const CALL_TIMEOUT_MS = 2_000;
const RESET_TIMEOUT_MS = 10_000;
const HALF_OPEN_TIMEOUT_MS = 5_000;

/** Collects what the application logs. */
class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: string; context?: string }[] = [];
  log(message: string, context?: string) {
    this.lines.push({ level: 'log', message, context });
  }
  error(message: string, ...rest: unknown[]) {
    this.lines.push({ level: 'error', message, context: rest.at(-1) as string | undefined });
  }
  warn(message: string, context?: string) {
    this.lines.push({ level: 'warn', message, context });
  }
  errors(context: string): string[] {
    return this.lines.filter((l) => l.level === 'error' && l.context === context).map((l) => l.message);
  }
}

/** A thenable that is not a Promise. */
const thenable = (then: (resolve: (v: string) => void, reject: (e: unknown) => void) => void): PromiseLike<string> => ({ then } as PromiseLike<string>);

@Injectable()
class Dependency {
  calls = 0;
  /** settles the calls that hang */
  release: ((value: string) => void)[] = [];

  /** Never settles until released. */
  @CircuitBreaker('hang', { failureThreshold: 1 })
  hangs(): Promise<string> {
    this.calls++;
    return new Promise((resolve) => this.release.push(resolve));
  }

  @CircuitBreaker('hang-timeout', { failureThreshold: 2, callTimeoutMs: CALL_TIMEOUT_MS })
  hangsWithTimeout(): Promise<string> {
    this.calls++;
    return new Promise((resolve) => this.release.push(resolve));
  }

  @CircuitBreaker('non-error', { failureThreshold: 2 })
  async throwsValue(value: unknown): Promise<string> {
    this.calls++;
    throw value;
  }

  @CircuitBreaker('non-error-sync', { failureThreshold: 2 })
  throwsValueSync(value: unknown): string {
    this.calls++;
    throw value;
  }

  /** Declared PromiseLike: nothing at bootstrap says it is a Promise. */
  @CircuitBreaker('thenable', { failureThreshold: 3 })
  thenable(kind: 'rejects' | 'then-throws' | 'both'): PromiseLike<string> {
    this.calls++;
    switch (kind) {
      case 'rejects':
        return thenable((_resolve, reject) => reject(new Error('thenable rejected')));
      case 'then-throws':
        return thenable(() => {
          throw new Error('then() threw');
        });
      default:
        return thenable((resolve, reject) => {
          reject(new Error('rejected first'));
          resolve('resolved after');
          reject(new Error('rejected again'));
        });
    }
  }

  /** Declared to return a Promise, but validates its argument with a synchronous throw. */
  @CircuitBreaker('sync-throw', { failureThreshold: 2 })
  load(id: string): Promise<string> {
    this.calls++;
    if (id === '') throw new TypeError('id must not be empty');
    return Promise.resolve(`item ${id}`);
  }

  @CircuitBreaker('sync-throw-async', { failureThreshold: 2 })
  async loadAsync(id: string): Promise<string> {
    this.calls++;
    if (id === '') throw new TypeError('id must not be empty');
    return `item ${id}`;
  }

  @CircuitBreaker('listeners', { failureThreshold: 2 })
  async flaky(fail: boolean): Promise<string> {
    this.calls++;
    if (fail) throw new Error('flaky failed');
    return 'flaky ok';
  }

  @CircuitBreaker('fallback-throws', { failureThreshold: 2, fallback: 'brokenFallback' })
  async withBrokenFallback(id: string): Promise<string> {
    this.calls++;
    throw new BadGatewayException(`the catalog failed for ${id}`);
  }

  @CircuitBreaker('fallback-rejects', { failureThreshold: 2, fallback: (error: unknown) => Promise.reject(new Error(`fallback rejected after ${(error as Error).name}`)) })
  async withRejectingFallback(): Promise<string> {
    this.calls++;
    throw new Error('downstream failed');
  }

  @CircuitBreaker('fallback-throws-observable', { failureThreshold: 1, fallback: 'brokenFallback' })
  stream(id: string): Observable<string> {
    return defer(async () => {
      this.calls++;
      throw new Error(`stream ${id} failed`);
    });
  }

  brokenFallback(error: unknown, id: string): string {
    throw new BadGatewayException(`no cached copy of ${id} (after ${(error as Error).name})`);
  }
}

@Controller('faults')
class FaultsController {
  constructor(private readonly dependency: Dependency) {}

  @Get('hang')
  hang(): Promise<string> {
    return this.dependency.hangs();
  }

  @Get('hang-timeout')
  hangTimeout(): Promise<string> {
    return this.dependency.hangsWithTimeout();
  }

  @Get('string')
  string(): Promise<string> {
    return this.dependency.throwsValue('boom');
  }

  @Get('undefined')
  undefinedValue(): Promise<string> {
    return this.dependency.throwsValue(undefined);
  }

  @Get('thenable')
  thenable(): PromiseLike<string> {
    return this.dependency.thenable('rejects');
  }

  @Get('fallback')
  fallback(): Promise<string> {
    return this.dependency.withBrokenFallback('42');
  }

  /** A route-level breaker whose handler hangs, with a call timeout. */
  @Get('route-hang')
  @CircuitBreaker('route-hang', { callTimeoutMs: CALL_TIMEOUT_MS })
  routeHang(): Promise<string> {
    return this.dependency.hangs();
  }
}

describe('faults through a real application', () => {
  let app: INestApplication | undefined;
  let clock: FakeClock;
  let logger: CapturingLogger;

  afterEach(async () => {
    jest.useRealTimers();
    await app?.close();
    app = undefined;
  });

  async function start(): Promise<{ dependency: Dependency; registry: CircuitBreakerRegistry; http: ReturnType<typeof request> }> {
    clock = new FakeClock();
    logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ defaults: { clock, resetTimeoutMs: RESET_TIMEOUT_MS, halfOpenTimeoutMs: HALF_OPEN_TIMEOUT_MS } })],
      controllers: [FaultsController],
      providers: [Dependency, { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }],
    }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
    return { dependency: app.get(Dependency), registry: app.get(CircuitBreakerRegistry), http: request(app.getHttpServer()) };
  }

  /** Resolves once `condition()` holds, checking after each turn of the event loop (no sleep). */
  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; !condition(); i++) {
      if (i > 10_000) throw new Error('condition not reached');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  describe('a dependency that hangs', () => {
    it('without callTimeoutMs: the caller waits, nothing is counted until it settles, other calls go through', async () => {
      const { dependency, registry } = await start();
      await app!.listen(0, '127.0.0.1');
      const { port } = app!.getHttpServer().address() as AddressInfo;
      let answered = false;
      const req = get({ host: '127.0.0.1', port, path: '/faults/hang' }, (res: IncomingMessage) => {
        answered = true;
        res.resume();
      });
      req.on('error', () => undefined); // destroyed below
      await until(() => dependency.calls === 1);
      const breaker = registry.get('hang')!;
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_requests: 0, total_failures: 0 });
      // no concurrency limit while closed: more calls start, and hang too
      const more = [dependency.hangs(), dependency.hangs()];
      expect(dependency.calls).toBe(3);
      expect(answered).toBe(false);
      req.destroy();

      // once released, each call is counted exactly once
      for (const release of dependency.release) release('late');
      await expect(Promise.all(more)).resolves.toEqual(['late', 'late']);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_requests: 3, total_successes: 3 });
    });

    it('without callTimeoutMs, in half-open: the hung probe holds the slot (others get 503 at once) until halfOpenTimeoutMs, then the breaker opens again', async () => {
      const { dependency, registry, http } = await start();
      const breaker = registry.get('hang')!;
      await expect(breaker.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down'); // threshold 1: open
      clock.advance(RESET_TIMEOUT_MS);
      void http.get('/faults/hang').then(() => undefined, () => undefined); // the probe: hangs
      await until(() => dependency.calls === 1);
      expect(breaker.state).toBe('half_open');

      const rejected = await http.get('/faults/hang').expect(503);
      expect(rejected.body).toMatchObject({ breaker: 'hang', circuit_state: 'half_open' });
      expect(dependency.calls).toBe(1); // never queued, never called

      clock.advance(HALF_OPEN_TIMEOUT_MS);
      expect(breaker.state).toBe('open');
      dependency.release[0]!('too late'); // a stale outcome: counted, but moves nothing
      await until(() => breaker.snapshot().total_successes === 1);
      expect(breaker.state).toBe('open');
    });

    it('with callTimeoutMs: CallTimeoutError after the timeout, counted as a failure and a timeout; opens at the threshold; the late result is dropped', async () => {
      const { dependency, registry } = await start();
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'setInterval', 'clearInterval', 'Date', 'hrtime', 'performance'] });
      const breaker = registry.get('hang-timeout')!;
      const first = dependency.hangsWithTimeout();
      const outcome = first.then(() => 'resolved', (error: unknown) => error);
      await jest.advanceTimersByTimeAsync(CALL_TIMEOUT_MS - 1);
      expect(breaker.snapshot().total_requests).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(CallTimeoutError);
      expect(error).toMatchObject({ code: 'CALL_TIMEOUT', breakerName: 'hang-timeout', timeoutMs: CALL_TIMEOUT_MS });
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_failures: 1, total_timeouts: 1 });

      const second = dependency.hangsWithTimeout().catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(CALL_TIMEOUT_MS);
      expect(await second).toBeInstanceOf(CallTimeoutError);
      expect(breaker.state).toBe('open');
      await expect(dependency.hangsWithTimeout()).rejects.toBeInstanceOf(CircuitBreakerOpenError);
      expect(dependency.calls).toBe(2);

      for (const release of dependency.release) release('late'); // the timed-out calls settle at last
      await jest.advanceTimersByTimeAsync(0);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_requests: 3, total_successes: 0, total_failures: 2, total_timeouts: 2, total_rejections: 1 });
    });

    it('with callTimeoutMs on a route: the route answers 504 Gateway Timeout after the timeout, then 503 once open', async () => {
      const { registry, http } = await start();
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'setInterval', 'clearInterval', 'Date', 'hrtime', 'performance'] });
      const breaker = registry.get('route-hang')!;
      for (let i = 0; i < 5; i++) {
        const response = http.get('/faults/route-hang').then((res) => res);
        await until(() => jest.getTimerCount() > 0); // the call timeout is armed: the handler runs
        await jest.advanceTimersByTimeAsync(CALL_TIMEOUT_MS);
        const res = await response;
        expect(res.status).toBe(504);
        expect(res.body).toEqual({
          statusCode: 504,
          error: 'Gateway Timeout',
          message: "Call through circuit breaker 'route-hang' timed out after 2000 ms",
          breaker: 'route-hang',
          timeout_ms: CALL_TIMEOUT_MS,
        });
        expect(res.headers['retry-after']).toBeUndefined();
      }
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_failures: 5, total_timeouts: 5 });
      const open = await http.get('/faults/route-hang').expect(503);
      expect(open.headers['retry-after']).toBe(String(RESET_TIMEOUT_MS / 1000));
    });
  });

  describe('a method that throws something that is not an Error', () => {
    it.each([['a string', 'boom'], ['undefined', undefined], ['null', null], ['a number', 42], ['a plain object', { code: 'E_DOWN' }]])(
      'throwing %s: the caller gets that very value, it counts as a failure, the breaker opens at the threshold',
      async (_kind, value) => {
        const { dependency, registry } = await start();
        const failures: unknown[] = [];
        registry.get('non-error')!.on('failure', (event) => failures.push(event.error));
        for (let i = 0; i < 2; i++) {
          const caught = await dependency.throwsValue(value).then(() => 'resolved', (error: unknown) => ({ error }));
          expect(caught).toEqual({ error: value });
        }
        expect(failures).toEqual([value, value]);
        expect(registry.get('non-error')!.snapshot()).toMatchObject({ state: 'open', total_failures: 2 });
        await expect(dependency.throwsValue(value)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
        expect(dependency.calls).toBe(2);
      },
    );

    it('from a sync method: the same value is thrown synchronously', async () => {
      const { dependency, registry } = await start();
      let thrown: unknown = 'nothing';
      try {
        dependency.throwsValueSync(undefined);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeUndefined();
      expect(() => dependency.throwsValueSync('boom')).toThrow('boom');
      expect(registry.get('non-error-sync')!.state).toBe('open');
      expect(() => dependency.throwsValueSync('boom')).toThrow(CircuitBreakerOpenError);
    });

    it('over HTTP: 500 (Nest\'s answer to an unknown error) until the breaker opens, then 503 with Retry-After', async () => {
      const { http } = await start();
      await http.get('/faults/string').expect(500);
      await http.get('/faults/undefined').expect(500);
      const open = await http.get('/faults/string').expect(503);
      expect(open.body).toMatchObject({ breaker: 'non-error', circuit_state: 'open', retry_after: RESET_TIMEOUT_MS / 1000 });
    });
  });

  describe('a rejected thenable (not a Promise)', () => {
    it.each([
      ['rejects', 'rejects', 'thenable rejected'],
      ['whose then() throws', 'then-throws', 'then() threw'],
      ['rejects, then resolves and rejects again', 'both', 'rejected first'],
    ] as const)(
      'a thenable that %s: the caller gets a real Promise rejected with the (first) error, counted once as a failure',
      async (_title, kind, message) => {
        const { dependency, registry } = await start();
        const result = dependency.thenable(kind);
        expect(result).toBeInstanceOf(Promise);
        await expect(result).rejects.toThrow(message);
        expect(registry.get('thenable')!.snapshot()).toMatchObject({ state: 'closed', total_requests: 1, total_failures: 1, total_successes: 0 });
      },
    );

    it('three of them open the breaker; over HTTP: 500, then 503', async () => {
      const { registry, http } = await start();
      for (let i = 0; i < 3; i++) await http.get('/faults/thenable').expect(500);
      expect(registry.get('thenable')!.state).toBe('open');
      await http.get('/faults/thenable').expect(503);
    });
  });

  describe('a synchronous throw from a method declared to return a Promise', () => {
    it.each([['load', 'sync-throw'], ['loadAsync', 'sync-throw-async']] as const)(
      '%s(): the caller gets a rejected Promise (never a synchronous throw), counted as a failure',
      async (method, name) => {
        const { dependency, registry } = await start();
        let result: Promise<string> | undefined;
        expect(() => (result = dependency[method](''))).not.toThrow();
        expect(result).toBeInstanceOf(Promise);
        await expect(result).rejects.toThrow(new TypeError('id must not be empty'));
        await expect(dependency[method]('')).rejects.toThrow(TypeError);
        expect(registry.get(name)!.snapshot()).toMatchObject({ state: 'open', total_failures: 2 });
        const rejected = dependency[method]('7');
        expect(rejected).toBeInstanceOf(Promise);
        await expect(rejected).rejects.toBeInstanceOf(CircuitBreakerOpenError);
      },
    );
  });

  describe('a listener that throws', () => {
    it('changes neither the calls\' outcomes nor the state; each error is logged through Nest\'s Logger', async () => {
      const { dependency, registry } = await start();
      const breaker = registry.get('listeners')!;
      const seen: string[] = [];
      for (const event of ['stateChange', 'success', 'failure', 'rejected'] as const) {
        breaker.on(event, () => {
          seen.push(event);
          throw new Error(`${event} listener broke`);
        });
      }
      await expect(dependency.flaky(false)).resolves.toBe('flaky ok');
      await expect(dependency.flaky(true)).rejects.toThrow('flaky failed');
      await expect(dependency.flaky(true)).rejects.toThrow('flaky failed');
      await expect(dependency.flaky(false)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_successes: 1, total_failures: 2, total_rejections: 1 });
      expect(seen).toEqual(['success', 'failure', 'stateChange', 'failure', 'rejected']); // the transition is emitted before the failure that caused it
      const logged = logger.errors('CircuitBreaker').filter((m) => m.includes('a listener threw'));
      expect(logged).toHaveLength(5);
      expect(logged[0]).toBe("Circuit breaker 'listeners': a listener threw; the call and the state are unaffected");
      // the application's own log of the transition is still written
      expect(logger.errors('CircuitBreaker')).toContain("CircuitBreaker 'listeners': CLOSED → OPEN (threshold reached: 2/2)");
    });

    it('an events$ subscriber that throws: the error goes to RxJS\'s unhandled-error hook (rethrown asynchronously by default); calls and state are unaffected', async () => {
      const { dependency, registry } = await start();
      const unhandled: unknown[] = [];
      const saved = rxjsConfig.onUnhandledError;
      rxjsConfig.onUnhandledError = (error) => unhandled.push(error);
      try {
        const subscription = registry.events$.subscribe(() => {
          throw new Error('subscriber broke');
        });
        await expect(dependency.flaky(true)).rejects.toThrow('flaky failed');
        await expect(dependency.flaky(true)).rejects.toThrow('flaky failed');
        expect(registry.get('listeners')!.state).toBe('open');
        await until(() => unhandled.length === 3); // failure, failure, stateChange
        expect((unhandled[0] as Error).message).toBe('subscriber broke');
        subscription.unsubscribe();
      } finally {
        rxjsConfig.onUnhandledError = saved;
      }
    });
  });

  describe('a fallback that throws', () => {
    it('the caller gets the fallback\'s error; the original failure is counted once; when open, the fallback still runs (and its error is what the caller gets)', async () => {
      const { dependency, registry } = await start();
      const breaker = registry.get('fallback-throws')!;
      for (let i = 0; i < 2; i++) {
        await expect(dependency.withBrokenFallback('42')).rejects.toThrow("no cached copy of 42 (after BadGatewayException)");
      }
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_requests: 2, total_failures: 2 });
      await expect(dependency.withBrokenFallback('42')).rejects.toThrow('no cached copy of 42 (after CircuitBreakerOpenError)');
      expect(breaker.snapshot()).toMatchObject({ total_requests: 3, total_rejections: 1 });
      expect(dependency.calls).toBe(2);
    });

    it('a fallback returning a rejected Promise: the caller gets that rejection', async () => {
      const { dependency, registry } = await start();
      await expect(dependency.withRejectingFallback()).rejects.toThrow('fallback rejected after Error');
      expect(registry.get('fallback-rejects')!.snapshot()).toMatchObject({ total_failures: 1 });
    });

    it('on an Observable method: the Observable errors with the fallback\'s error', async () => {
      const { dependency, registry } = await start();
      await expect(firstValueFrom(dependency.stream('7'))).rejects.toThrow('no cached copy of 7 (after Error)');
      await expect(firstValueFrom(dependency.stream('7'))).rejects.toThrow('no cached copy of 7 (after CircuitBreakerOpenError)');
      expect(registry.get('fallback-throws-observable')!.snapshot()).toMatchObject({ state: 'open', total_failures: 1, total_rejections: 1 });
    });

    it('over HTTP: the fallback\'s error is the answer (here its 502), never an unhandled rejection', async () => {
      const { http } = await start();
      const res = await http.get('/faults/fallback').expect(502);
      expect(res.body.message).toBe('no cached copy of 42 (after BadGatewayException)');
      await http.get('/faults/fallback').expect(502);
      const open = await http.get('/faults/fallback').expect(502);
      expect(open.body.message).toBe('no cached copy of 42 (after CircuitBreakerOpenError)');
    });
  });
});
