import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { firstValueFrom, isObservable, lastValueFrom, NEVER, Observable, of, toArray } from 'rxjs';
import { Breaker, CallTimeoutError, type CircuitBreakerOptions, CircuitBreakerOpenError } from '../core/index.js';
import { FakeClock } from '../testing/fake-clock.js';
import { type AnyFunction, BreakerCall, type LayerFallback, type ReturnKind } from './breaker-call.js';

class RateLimited extends Error {}

function wrap(fn: AnyFunction, kind: ReturnKind, options: CircuitBreakerOptions = {}, fallback: LayerFallback | null = null) {
  const breaker = new Breaker('svc', { clock: new FakeClock(), failureThreshold: 1, ignore: [RateLimited], ...options }, { logger: { error: () => undefined, warn: () => undefined } });
  return { breaker, call: new BreakerCall(fn, breaker, fallback, kind).toFunction() };
}

const useFallback: LayerFallback = function (self, error, args) {
  return `fallback(${(self as { id: string }).id}, ${(error as Error).constructor.name}, ${Array.from(args).join(',')})`;
};

describe('BreakerCall', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('keeps this and the arguments', () => {
    const { call } = wrap(function (this: { id: string }, a: number, b: number) {
      return `${this.id}:${a + b}`;
    }, 'auto');
    expect(call.call({ id: 'x' }, 1, 2)).toBe('x:3');
  });

  describe('promise methods', () => {
    it('reject with CallTimeoutError after callTimeoutMs, counted as a failure', async () => {
      const { breaker, call } = wrap(() => new Promise(() => undefined), 'promise', { callTimeoutMs: 100 });
      const outcome = call();
      jest.advanceTimersByTime(100);
      await expect(outcome).rejects.toBeInstanceOf(CallTimeoutError);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_timeouts: 1 });
    });

    it('hand a timeout, a failure and a rejection to the fallback, with this and the arguments', async () => {
      const { breaker, call } = wrap(() => new Promise(() => undefined), 'promise', { callTimeoutMs: 100 }, useFallback);
      const self = { id: 'me' };
      const outcome = call.call(self, 1, 2);
      jest.advanceTimersByTime(100);
      await expect(outcome).resolves.toBe('fallback(me, CallTimeoutError, 1,2)');
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_timeouts: 1 });
      await expect(call.call(self, 3)).resolves.toBe('fallback(me, CircuitBreakerOpenError, 3)');
    });

    it('never hand an ignored error to the fallback', async () => {
      const { breaker, call } = wrap(async () => {
        throw new RateLimited('slow down');
      }, 'promise', {}, useFallback);
      await expect(call.call({ id: 'me' })).rejects.toBeInstanceOf(RateLimited);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_ignored: 1 });
    });

    it('use the breaker\'s own fallback, with the method\'s arguments, when the method has none', async () => {
      const own = jest.fn((error: unknown, ...args: unknown[]) => `own(${args.join(',')})`);
      const { call } = wrap(async () => {
        throw new Error('down');
      }, 'promise', { fallback: own });
      await expect(call(7, 8)).resolves.toBe('own(7,8)');
      expect(own.mock.calls[0]![0]).toBeInstanceOf(Error);
    });
  });

  describe('methods of unknown return kind', () => {
    it('stay sync: a throw when open, the value otherwise', () => {
      let fail = true;
      const { call } = wrap(() => {
        if (fail) throw new Error('down');
        return 42;
      }, 'auto');
      expect(() => call()).toThrow('down');
      expect(() => call()).toThrow(CircuitBreakerOpenError);
      fail = false;
      expect(() => call()).toThrow(CircuitBreakerOpenError);
    });

    it('return the fallback value synchronously', () => {
      const { call } = wrap(() => {
        throw new Error('down');
      }, 'auto', {}, useFallback);
      expect(call.call({ id: 's' }, 1)).toBe('fallback(s, Error, 1)');
      expect(call.call({ id: 's' }, 2)).toBe('fallback(s, CircuitBreakerOpenError, 2)');
    });

    it('settle a returned promise when it settles', async () => {
      const { breaker, call } = wrap(() => Promise.reject(new Error('later')), 'auto');
      await expect(call()).rejects.toThrow('later');
      expect(breaker.state).toBe('open');
    });

    it('learn an Observable result: later calls run on subscribe', async () => {
      let runs = 0;
      const made = wrap(() => {
        runs++;
        return of(1);
      }, 'auto');
      const { call } = made;
      const { breaker } = made;
      await expect(firstValueFrom(call() as Observable<number>)).resolves.toBe(1);
      const cold = call();
      expect(isObservable(cold)).toBe(true);
      expect(runs).toBe(1);
      await firstValueFrom(cold as Observable<number>);
      expect(runs).toBe(2);
      // the admission taken before the first result was seen is given back: one subscription, one call
      expect(breaker.snapshot()).toMatchObject({ total_successes: 2, total_ignored: 0, total_requests: 2 });
    });
  });

  describe('Observable methods', () => {
    it('fail with CallTimeoutError after callTimeoutMs and unsubscribe the source', async () => {
      let unsubscribed = false;
      const { breaker, call } = wrap(() => new Observable(() => () => (unsubscribed = true)), 'observable', { callTimeoutMs: 50 });
      const outcome = firstValueFrom(call() as Observable<unknown>);
      jest.advanceTimersByTime(50);
      await expect(outcome).rejects.toBeInstanceOf(CallTimeoutError);
      expect(unsubscribed).toBe(true);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', total_timeouts: 1, total_failures: 1 });
    });

    it('emit the fallback\'s Observable, promise or value', async () => {
      const fallbacks: unknown[] = [of('a', 'b'), Promise.resolve('p'), ['v']];
      for (const value of fallbacks) {
        const { call } = wrap(() => new Observable((s) => s.error(new Error('down'))), 'observable', {}, () => value);
        const emitted = await lastValueFrom((call() as Observable<unknown>).pipe(toArray()));
        expect(emitted).toEqual(value instanceof Promise ? ['p'] : Array.isArray(value) ? [['v']] : ['a', 'b']);
      }
    });

    it('run the method itself on subscribe, once per subscription', async () => {
      let runs = 0;
      const { breaker, call } = wrap(() => {
        runs++;
        return NEVER;
      }, 'observable');
      const cold = call() as Observable<never>;
      expect(runs).toBe(0);
      const a = cold.subscribe();
      const b = cold.subscribe();
      expect(runs).toBe(2);
      a.unsubscribe();
      b.unsubscribe();
      expect(breaker.snapshot()).toMatchObject({ total_requests: 0, total_ignored: 2 });
    });
  });

  describe('with a shared store, a half-open probe', () => {
    function halfOpenWithStore(fn: AnyFunction, kind: ReturnKind, fallback: LayerFallback | null = null) {
      const clock = new FakeClock();
      const { breaker, call } = wrap(fn, kind, { clock, resetTimeoutMs: 1_000 }, fallback);
      breaker.forceOpen();
      breaker.reset();
      breaker.tryAcquire().failure(new Error('trip'));
      clock.advance(1_000);
      const leases: ((granted: boolean) => void)[] = [];
      breaker.attachSync({
        publish: () => undefined,
        acquireProbe: () => new Promise<boolean>((resolve) => leases.push(resolve)),
        releaseProbe: () => undefined,
      });
      expect(breaker.state).toBe('half_open');
      return { breaker, call, leases };
    }

    it('subscribed to waits for the fleet-wide lease before the method runs', async () => {
      let runs = 0;
      const { breaker, call, leases } = halfOpenWithStore(() => {
        runs++;
        return of('probe');
      }, 'observable');
      const outcome = firstValueFrom(call() as Observable<string>);
      await Promise.resolve();
      expect(runs).toBe(0);
      leases[0]!(true);
      await expect(outcome).resolves.toBe('probe');
      expect(runs).toBe(1);
      expect(breaker.state).toBe('closed');
    });

    it('is rejected when the store denies the lease, and the fallback answers', async () => {
      let runs = 0;
      const { call, leases } = halfOpenWithStore(async () => {
        runs++;
        return 'probe';
      }, 'promise', useFallback);
      const outcome = call.call({ id: 'me' }, 1);
      await Promise.resolve();
      leases[0]!(false);
      await expect(outcome).resolves.toBe('fallback(me, CircuitBreakerOpenError, 1)');
      expect(runs).toBe(0);
    });

    it('unsubscribed while waiting never runs, and gives its slot back', async () => {
      let runs = 0;
      const { breaker, call, leases } = halfOpenWithStore(() => {
        runs++;
        return of('probe');
      }, 'observable');
      const subscription = (call() as Observable<string>).subscribe();
      subscription.unsubscribe();
      leases[0]!(true);
      for (let i = 0; i < 5; i++) await Promise.resolve(); // the lease's promise chain settles
      expect(runs).toBe(0);
      expect(breaker.snapshot()).toMatchObject({ state: 'half_open', total_ignored: 1 });
    });
  });
});

describe('BreakerCall Observable outcomes', () => {
  it('a consumer that takes the first value and unsubscribes counts a success (half-open closes)', async () => {
    const clock = new FakeClock();
    const breaker = new Breaker('svc', { clock, failureThreshold: 1, resetTimeoutMs: 1_000 }, { logger: { error: () => undefined, warn: () => undefined } });
    const call = new BreakerCall(() => new Observable((s) => s.next('first')), breaker, null, 'observable').toFunction();
    breaker.tryAcquire().failure(new Error('trip'));
    clock.advance(1_000);
    expect(breaker.state).toBe('half_open');
    await expect(firstValueFrom(call() as Observable<string>)).resolves.toBe('first'); // never completes on its own
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_ignored: 0 });
  });

  it('applies isFailureResult to the last value', async () => {
    const breaker = new Breaker('svc', { clock: new FakeClock(), failureThreshold: 2, isFailureResult: (v) => (v as { status: number }).status >= 500 });
    const call = new BreakerCall(() => of({ status: 200 }, { status: 503 }), breaker, null, 'observable').toFunction();
    for (let i = 0; i < 2; i++) await lastValueFrom(call() as Observable<unknown>);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', total_failures: 2 });
  });
});
