import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker } from './breaker.js';
import { RetryExhaustedError } from './composition-errors.js';
import { CircuitBreakerConfigError, CircuitBreakerError, CircuitBreakerOpenError } from './errors.js';
import { DEFAULT_RETRY_OPTIONS, retry, RetryPolicy, type RetryOptions } from './retry.js';

const silentLogger = { error: jest.fn(), warn: jest.fn() };

/** A fn failing its first `failures` calls (with `Error('fail #n')`), then answering 'ok'. */
function flaky(failures: number) {
  let calls = 0;
  const fn = jest.fn(async () => {
    calls++;
    if (calls <= failures) throw new Error(`fail #${calls}`);
    return 'ok';
  });
  return fn;
}

/** Hooks that record the delays asked for instead of waiting. */
function recordingHooks(random: () => number = () => 0.5) {
  const delays: number[] = [];
  return { delays, hooks: { sleep: async (ms: number) => void delays.push(ms), random } };
}

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('retry: outcomes', () => {
  it('resolves with the first success, calling fn with the attempt number', async () => {
    const fn = flaky(2);
    const { hooks } = recordingHooks();
    await expect(retry(fn, { maxAttempts: 3 }, hooks)).resolves.toBe('ok');
    expect(fn.mock.calls).toEqual([[1], [2], [3]]);
  });

  it('does not call again after a success', async () => {
    const fn = flaky(0);
    await expect(retry(fn, { maxAttempts: 5 }, recordingHooks().hooks)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('treats a synchronous throw as a failed attempt', async () => {
    let calls = 0;
    const fn = () => {
      if (++calls < 3) throw new Error('sync');
      return 42;
    };
    await expect(retry(fn, { maxAttempts: 3 }, recordingHooks().hooks)).resolves.toBe(42);
    expect(calls).toBe(3);
  });

  it('ends with RetryExhaustedError { attempts, lastError } after maxAttempts calls', async () => {
    const fn = flaky(Infinity);
    const error = await retry(fn, { maxAttempts: 4 }, { ...recordingHooks().hooks, operation: 'Quotes.fetch' }).catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledTimes(4);
    expect(error).toBeInstanceOf(RetryExhaustedError);
    expect(error).toBeInstanceOf(CircuitBreakerError);
    const e = error as RetryExhaustedError;
    expect(e.code).toBe('RETRY_EXHAUSTED');
    expect(e.attempts).toBe(4);
    expect(e.lastError).toEqual(new Error('fail #4'));
    expect(e.cause).toBe(e.lastError);
    expect(e.message).toBe("'Quotes.fetch' failed after 4 attempts; last error: Error: fail #4");
  });

  it('maxAttempts: 1 makes a single call', async () => {
    const fn = flaky(Infinity);
    const { delays, hooks } = recordingHooks();
    const error = await retry(fn, { maxAttempts: 1 }, hooks).catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(delays).toEqual([]);
    expect(error).toMatchObject({ attempts: 1, message: 'Retried call failed after 1 attempt; last error: Error: fail #1' });
  });

  it('never retries a CircuitBreakerOpenError: it is rethrown as it is', async () => {
    const open = new CircuitBreakerOpenError('payments', 'open', 5_000);
    const fn = jest.fn(async () => {
      throw open;
    });
    const retryOn = jest.fn(() => true);
    await expect(retry(fn, { maxAttempts: 5, retryOn }, recordingHooks().hooks)).rejects.toBe(open);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(retryOn).not.toHaveBeenCalled();
  });

  it('retryOn(error, attempt) decides; a refused error is rethrown as it is, at once', async () => {
    const fn = flaky(Infinity);
    const retryOn = jest.fn((_: unknown, attempt: number) => attempt < 2);
    const { delays, hooks } = recordingHooks();
    await expect(retry(fn, { maxAttempts: 5, retryOn }, hooks)).rejects.toEqual(new Error('fail #2'));
    expect(retryOn.mock.calls).toEqual([[new Error('fail #1'), 1], [new Error('fail #2'), 2]]);
    expect(delays).toHaveLength(1);
  });

  it('retryOn is asked about the last attempt too: refused, its error is not wrapped', async () => {
    const error = await retry(flaky(Infinity), { maxAttempts: 2, retryOn: (_, attempt) => attempt < 2 }, recordingHooks().hooks)
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(RetryExhaustedError);
    expect(error).toEqual(new Error('fail #2'));
  });

  it('a retryOn that throws ends the retries with its own error', async () => {
    const bug = new TypeError('retryOn bug');
    const fn = flaky(Infinity);
    await expect(retry(fn, { retryOn: () => { throw bug; } }, recordingHooks().hooks)).rejects.toBe(bug);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('retry: delays (exponential backoff with full jitter)', () => {
  it('jitter: false waits exactly min(maxDelayMs, baseDelayMs × multiplier^(n-1)), on the real timer API', async () => {
    jest.useFakeTimers();
    const fn = flaky(Infinity);
    const outcome = retry(fn, { maxAttempts: 5, baseDelayMs: 100, multiplier: 3, maxDelayMs: 1_000, jitter: false }).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);
    // waits: 100, 300, 900, 1000 (capped)
    for (const [wait, callsAfter] of [[100, 2], [300, 3], [900, 4], [1_000, 5]] as const) {
      await jest.advanceTimersByTimeAsync(wait - 1);
      expect(fn).toHaveBeenCalledTimes(callsAfter - 1);
      await jest.advanceTimersByTimeAsync(1);
      expect(fn).toHaveBeenCalledTimes(callsAfter);
    }
    expect(await outcome).toBeInstanceOf(RetryExhaustedError);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('with jitter, each delay is Math.random() × the cap', async () => {
    jest.useFakeTimers();
    const randoms = [0.5, 0.25];
    jest.spyOn(Math, 'random').mockImplementation(() => randoms.shift()!);
    const fn = flaky(2);
    const outcome = retry(fn, { maxAttempts: 3, baseDelayMs: 1_000, multiplier: 2 });
    await jest.advanceTimersByTimeAsync(499);
    expect(fn).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1); // 0.5 × 1000
    expect(fn).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(499);
    expect(fn).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(1); // 0.25 × 2000
    expect(fn).toHaveBeenCalledTimes(3);
    await expect(outcome).resolves.toBe('ok');
  });

  it('the defaults: 3 attempts, jittered delays capped at 1 s then 2 s', async () => {
    expect(DEFAULT_RETRY_OPTIONS).toEqual({ maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 30_000, multiplier: 2, jitter: true });
    const { delays, hooks } = recordingHooks(() => 0.999);
    const error = await retry(flaky(Infinity), undefined, hooks).catch((e: unknown) => e);
    expect(error).toMatchObject({ attempts: 3 });
    expect(delays).toEqual([999, 1_998]);
  });

  it('property: every delay lies in [0, min(maxDelayMs, baseDelayMs × multiplier^(n-1))]; without jitter it equals it', async () => {
    const options = fc.record({
      maxAttempts: fc.integer({ min: 1, max: 12 }),
      baseDelayMs: fc.integer({ min: 0, max: 10_000 }),
      extraMaxMs: fc.integer({ min: 0, max: 100_000 }),
      multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
      jitter: fc.boolean(),
    });
    const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
    await fc.assert(
      fc.asyncProperty(options, fc.infiniteStream(random), async ({ extraMaxMs, ...o }, randoms) => {
        const opts: RetryOptions = { ...o, maxDelayMs: o.baseDelayMs + extraMaxMs };
        const it = randoms[Symbol.iterator]();
        const { delays, hooks } = recordingHooks(() => it.next().value as number);
        const error = await retry(flaky(Infinity), opts, hooks).catch((e: unknown) => e);
        expect(error).toMatchObject({ attempts: o.maxAttempts });
        expect(delays).toHaveLength(o.maxAttempts - 1);
        delays.forEach((delay, i) => {
          const cap = Math.min(opts.maxDelayMs!, o.baseDelayMs * o.multiplier ** i);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(cap);
          if (!o.jitter) expect(delay).toBe(cap);
        });
      }),
    );
  });

  it('the cap reaches maxDelayMs and stays there, however many attempts', () => {
    const policy = new RetryPolicy({ baseDelayMs: 10, multiplier: 10, maxDelayMs: 5_000 });
    expect([1, 2, 3, 4, 5, 2_000].map((n) => policy.delayCapMs(n))).toEqual([10, 100, 1_000, 5_000, 5_000, 5_000]);
    expect(new RetryPolicy({ baseDelayMs: 0, multiplier: 10 }).delayCapMs(2_000)).toBe(0);
  });
});

describe('retry: options validation', () => {
  it('rejects with CircuitBreakerConfigError listing every problem, before any call', async () => {
    const fn = flaky(0);
    const error = await retry(fn, {
      maxAttempts: 0,
      baseDelayMs: -1,
      maxDelayMs: Infinity,
      multiplier: 0.5,
      jitter: 'yes',
      retryOn: true,
      retries: 3,
    } as unknown as RetryOptions).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect((error as CircuitBreakerConfigError).problems.map((p) => p.path).sort()).toEqual(
      ['baseDelayMs', 'jitter', 'maxAttempts', 'maxDelayMs', 'multiplier', 'retries', 'retryOn'],
    );
    expect((error as Error).message).toContain('maxAttempts: expected an integer >= 1 (the first call included), received 0');
    expect((error as Error).message).toContain('retries: unknown option');
  });

  it('a maxDelayMs below baseDelayMs (given or default) is a problem', () => {
    expect(() => new RetryPolicy({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow('maxDelayMs: expected a duration >= baseDelayMs (500), received 100');
    expect(() => new RetryPolicy({ baseDelayMs: 60_000 })).toThrow('maxDelayMs: expected a duration >= baseDelayMs (60000), received 30000');
  });

  it('names the operation in the problem paths', () => {
    expect(() => new RetryPolicy({ maxAttempts: 1.5 }, { operation: 'Quotes.fetch' })).toThrow('Quotes.fetch @Retry.maxAttempts');
  });

  it('rejects a non-object', async () => {
    await expect(retry(flaky(0), 3 as unknown as RetryOptions)).rejects.toThrow('options: expected a retry options object');
  });
});

describe('retry and a breaker: the nesting decides what the breaker counts', () => {
  function makeBreaker(options = {}) {
    return new Breaker('inventory', { clock: new FakeClock(), resetTimeoutMs: 10_000, ...options }, { logger: silentLogger });
  }

  it('breaker outside the retry: one breaker call per retry sequence', async () => {
    const breaker = makeBreaker({ failureThreshold: 2 });
    const { hooks } = recordingHooks();
    // two failures, then a success: the breaker sees one successful call
    await expect(breaker.execute(() => retry(flaky(2), { maxAttempts: 3 }, hooks))).resolves.toBe('ok');
    expect(breaker.snapshot()).toMatchObject({ total_requests: 1, total_successes: 1, total_failures: 0 });
    // an exhausted sequence is one failure: two of them reach the threshold of 2
    const always = flaky(Infinity);
    await expect(breaker.execute(() => retry(always, { maxAttempts: 3 }, hooks))).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(() => retry(always, { maxAttempts: 3 }, hooks))).rejects.toBeInstanceOf(RetryExhaustedError);
    expect(always).toHaveBeenCalledTimes(6);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot()).toMatchObject({ total_failures: 2 });
  });

  it('retry outside the breaker: every attempt counts, and an open breaker stops the retries', async () => {
    const breaker = makeBreaker({ failureThreshold: 3 });
    const { delays, hooks } = recordingHooks();
    const always = flaky(Infinity);
    const error = await retry(() => breaker.execute(always), { maxAttempts: 10 }, hooks).catch((e: unknown) => e);
    // attempts 1–3 fail and open the breaker; attempt 4 is rejected without a call and not retried
    expect(always).toHaveBeenCalledTimes(3);
    expect(delays).toHaveLength(3);
    expect(error).toBeInstanceOf(CircuitBreakerOpenError);
    expect(breaker.snapshot()).toMatchObject({ total_failures: 3, total_rejections: 1 });
  });
});
