import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { defer, isObservable, Observable } from 'rxjs';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker } from '../core/breaker.js';
import { RetryExhaustedError } from '../core/composition-errors.js';
import { CircuitBreakerConfigError, CircuitBreakerOpenError } from '../core/errors.js';
import { wrapRetryLayer } from './retry.wrapper.js';

const context = { className: 'QuotesService', methodName: 'fetch' };
const exact = { maxAttempts: 3, baseDelayMs: 100, multiplier: 2, jitter: false } as const; // waits 100, then 200

/** Collects an Observable's notifications. */
function observe<T>(source: Observable<T>) {
  const seen: { values: T[]; error?: unknown; complete: boolean } = { values: [], complete: false };
  const subscription = source.subscribe({
    next: (v) => seen.values.push(v),
    error: (e: unknown) => (seen.error = e),
    complete: () => (seen.complete = true),
  });
  return { seen, subscription };
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('wrapRetryLayer', () => {
  it('validates the options at once, naming the method', () => {
    expect(() => wrapRetryLayer(() => 1, { maxAttempts: 0 }, context)).toThrow(CircuitBreakerConfigError);
    expect(() => wrapRetryLayer(() => 1, { maxAttempts: 0 }, context)).toThrow('QuotesService.fetch @Retry.maxAttempts: expected an integer >= 1');
  });

  it('keeps `this` and the arguments on every attempt', async () => {
    class QuotesService {
      calls: string[] = [];
      async fetch(symbol: string): Promise<string> {
        this.calls.push(symbol);
        if (this.calls.length < 2) throw new Error('flaky');
        return `${symbol}: 42`;
      }
    }
    const service = new QuotesService();
    service.fetch = wrapRetryLayer(service.fetch, exact, context);
    const result = service.fetch('ACME');
    await jest.advanceTimersByTimeAsync(100);
    await expect(result).resolves.toBe('ACME: 42');
    expect(service.calls).toEqual(['ACME', 'ACME']);
  });

  describe('a Promise-returning method', () => {
    it('stays a Promise, retried after the backoff delays', async () => {
      let calls = 0;
      const fetch = wrapRetryLayer(async () => {
        calls++;
        throw new Error(`fail #${calls}`);
      }, exact, context);
      const result = fetch();
      expect(result).toBeInstanceOf(Promise);
      const settled = (result as Promise<never>).catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(99);
      expect(calls).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(199);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(3);
      const error = await settled;
      expect(error).toBeInstanceOf(RetryExhaustedError);
      expect(error).toMatchObject({ attempts: 3, lastError: new Error('fail #3'), operation: 'QuotesService.fetch' });
    });

    it('does not retry a CircuitBreakerOpenError', async () => {
      const open = new CircuitBreakerOpenError('quotes', 'open', 1_000);
      const fn = jest.fn(async () => {
        throw open;
      });
      await expect(wrapRetryLayer(fn, exact, context)()).rejects.toBe(open);
      expect(fn).toHaveBeenCalledTimes(1);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('a sync method', () => {
    it('stays sync: a value comes back as it is, not as a Promise', () => {
      const double = wrapRetryLayer((n: number) => n * 2, exact, context);
      expect(double(21)).toBe(42);
    });

    it('a synchronous throw is retried at once, without a timer, and the value returned synchronously', () => {
      let calls = 0;
      const parse = wrapRetryLayer(() => {
        if (++calls < 3) throw new Error('busy');
        return 'parsed';
      }, exact, context);
      expect(parse()).toBe('parsed');
      expect(calls).toBe(3);
      expect(jest.getTimerCount()).toBe(0);
    });

    it('exhausted, it throws RetryExhaustedError synchronously; retryOn and the open error are honoured', () => {
      const always = wrapRetryLayer(() => {
        throw new Error('nope');
      }, exact, context);
      expect(() => always()).toThrow(RetryExhaustedError);
      expect(() => always()).toThrow("'QuotesService.fetch' failed after 3 attempts; last error: Error: nope");

      const open = new CircuitBreakerOpenError('quotes', 'open', 1_000);
      const rejected = jest.fn(() => {
        throw open;
      });
      expect(() => wrapRetryLayer(rejected, exact, context)()).toThrow(open);
      expect(rejected).toHaveBeenCalledTimes(1);

      const refused = jest.fn(() => {
        throw new TypeError('bad input');
      });
      expect(() => wrapRetryLayer(refused, { ...exact, retryOn: (e) => !(e instanceof TypeError) }, context)()).toThrow(TypeError);
      expect(refused).toHaveBeenCalledTimes(1);
    });
    it('a method that throws before building its Promise: that attempt is retried at once, later ones after delays', async () => {
      let calls = 0;
      const fetch = wrapRetryLayer((): Promise<string> => {
        calls++;
        if (calls === 1) throw new Error('not ready'); // e.g. a sync guard in a non-async method
        return calls < 3 ? Promise.reject(new Error('flaky')) : Promise.resolve('data');
      }, exact, context);
      const result = fetch();
      expect(calls).toBe(2); // attempt 2 followed attempt 1 without a delay
      await jest.advanceTimersByTimeAsync(199); // the delay after attempt 2 is capped at 200
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(1);
      await expect(result).resolves.toBe('data');
    });
  });

  describe('an Observable-returning method', () => {
    function coldSource(failures: number) {
      let subscriptions = 0;
      const source = defer(() => {
        subscriptions++;
        const n = subscriptions;
        return new Observable<string>((subscriber) => {
          if (n <= failures) subscriber.error(new Error(`fail #${n}`));
          else {
            subscriber.next(`value from subscription ${n}`);
            subscriber.complete();
          }
        });
      });
      return { source, subscriptions: () => subscriptions };
    }

    it('stays a cold Observable: nothing runs before subscribe, and each attempt is one subscription after its delay', async () => {
      const { source, subscriptions } = coldSource(2);
      const method = jest.fn(() => source);
      const result = wrapRetryLayer(method, exact, context)();
      expect(isObservable(result)).toBe(true);
      expect(subscriptions()).toBe(0);
      const { seen } = observe(result as Observable<string>);
      expect(subscriptions()).toBe(1);
      await jest.advanceTimersByTimeAsync(99);
      expect(subscriptions()).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(subscriptions()).toBe(2);
      await jest.advanceTimersByTimeAsync(200);
      expect(subscriptions()).toBe(3);
      expect(seen).toEqual({ values: ['value from subscription 3'], complete: true });
      expect(method).toHaveBeenCalledTimes(1); // the method built the Observable once; retries resubscribe it
    });

    it('ends with RetryExhaustedError after maxAttempts subscriptions', async () => {
      const { source, subscriptions } = coldSource(Infinity);
      const { seen } = observe(wrapRetryLayer(() => source, exact, context)() as Observable<string>);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(subscriptions()).toBe(3);
      expect(seen.error).toBeInstanceOf(RetryExhaustedError);
      expect(seen.error).toMatchObject({ attempts: 3, lastError: new Error('fail #3') });
    });

    it('each subscriber gets its own attempts', async () => {
      const { source, subscriptions } = coldSource(3); // subscriptions 1–3 fail, 4 succeeds
      const result = wrapRetryLayer(() => source, { ...exact, maxAttempts: 2 }, context)() as Observable<string>;
      const first = observe(result).seen;
      await jest.advanceTimersByTimeAsync(100);
      expect(first.error).toMatchObject({ attempts: 2, lastError: new Error('fail #2') });
      const second = observe(result).seen; // fails once more, then succeeds within its own 2 attempts
      await jest.advanceTimersByTimeAsync(100);
      expect(second).toEqual({ values: ['value from subscription 4'], complete: true });
      expect(subscriptions()).toBe(4);
    });

    it('does not resubscribe after a CircuitBreakerOpenError; the error reaches the subscriber as it is', async () => {
      const open = new CircuitBreakerOpenError('quotes', 'open', 1_000);
      let subscriptions = 0;
      const source = new Observable<never>((subscriber) => {
        subscriptions++;
        subscriber.error(open);
      });
      const { seen } = observe(wrapRetryLayer(() => source, exact, context)() as Observable<never>);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(subscriptions).toBe(1);
      expect(seen.error).toBe(open);
    });

    it('unsubscribing during a delay cancels the pending retry', async () => {
      const { source, subscriptions } = coldSource(Infinity);
      const { subscription } = observe(wrapRetryLayer(() => source, exact, context)() as Observable<string>);
      expect(jest.getTimerCount()).toBe(1);
      subscription.unsubscribe();
      expect(jest.getTimerCount()).toBe(0);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(subscriptions()).toBe(1);
    });
  });

  describe('nested with a breaker layer', () => {
    const breakerLayer = (breaker: Breaker, fn: () => Promise<string>) => () => breaker.execute(fn);

    it('retry outside (@Retry above @CircuitBreaker): every attempt is a breaker call; an open breaker stops the retries', async () => {
      const breaker = new Breaker('quotes', { failureThreshold: 2, clock: new FakeClock() }, { logger: { error() {}, warn() {} } });
      const fn = jest.fn(async (): Promise<string> => {
        throw new Error('down');
      });
      const method = wrapRetryLayer(breakerLayer(breaker, fn), { ...exact, maxAttempts: 5 }, context);
      const settled = (method() as Promise<string>).catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(await settled).toBeInstanceOf(CircuitBreakerOpenError);
      expect(fn).toHaveBeenCalledTimes(2);
      expect(breaker.snapshot()).toMatchObject({ total_failures: 2, total_rejections: 1 });
    });

    it('breaker outside (@CircuitBreaker above @Retry): the breaker sees one call per retry sequence', async () => {
      const breaker = new Breaker('quotes', { failureThreshold: 2, clock: new FakeClock() }, { logger: { error() {}, warn() {} } });
      let calls = 0;
      const retried = wrapRetryLayer(async () => {
        if (++calls < 3) throw new Error('flaky');
        return 'quote';
      }, exact, context);
      const settled = breaker.execute(() => retried() as Promise<string>);
      await jest.advanceTimersByTimeAsync(300);
      await expect(settled).resolves.toBe('quote');
      expect(calls).toBe(3);
      expect(breaker.snapshot()).toMatchObject({ total_requests: 1, total_successes: 1, total_failures: 0 });
    });
  });
});
