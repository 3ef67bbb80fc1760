import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker, type BreakerPermit } from './breaker.js';
import { CallTimeoutError, CircuitBreakerConfigError, CircuitBreakerOpenError } from './errors.js';
import type { StateChangeEvent } from './events.js';
import type { CircuitBreakerOptions } from './options.js';

const boom = () => new Error('boom');
const fail = async () => {
  throw boom();
};
const ok = async () => 'ok';
const silentLogger = { error: jest.fn(), warn: jest.fn() };

function make(options: CircuitBreakerOptions = {}, clock = new FakeClock()) {
  const breaker = new Breaker('svc', { clock, ...options }, { logger: silentLogger });
  return { breaker, clock };
}

async function failTimes(breaker: Breaker, n: number) {
  for (let i = 0; i < n; i++) await breaker.execute(fail).catch(() => undefined);
}

async function succeedTimes(breaker: Breaker, n: number) {
  for (let i = 0; i < n; i++) await breaker.execute(ok);
}

/** A promise whose settlement the test controls. */
function deferred<T = unknown>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('execute', () => {
  it('returns fn’s value or rejection, sync or async, passing the arguments', async () => {
    const { breaker } = make();
    await expect(breaker.execute((a: number, b: number) => a + b, 2, 3)).resolves.toBe(5);
    await expect(breaker.execute(async (s: string) => s.toUpperCase(), 'x')).resolves.toBe('X');
    await expect(breaker.execute(() => {
      throw boom();
    })).rejects.toThrow('boom');
    await expect(breaker.execute(fail)).rejects.toThrow('boom');
    expect(breaker.snapshot()).toMatchObject({ total_successes: 2, total_failures: 2 });
  });

  it('counts a rejected foreign thenable as a failure', async () => {
    const { breaker } = make();
    const thenable = { then: (_: unknown, reject: (e: unknown) => void) => reject(boom()) };
    await expect(breaker.execute(() => thenable as PromiseLike<never>)).rejects.toThrow('boom');
    expect(breaker.snapshot().total_failures).toBe(1);
  });

  it('counts a non-Error rejection as a failure and passes it through unchanged', async () => {
    const { breaker } = make();
    await expect(breaker.execute(() => Promise.reject('plain string'))).rejects.toBe('plain string');
    await expect(breaker.execute(() => Promise.reject(undefined))).rejects.toBeUndefined();
    expect(breaker.snapshot().total_failures).toBe(2);
  });
});

describe('CLOSED → OPEN (consecutive rule)', () => {
  it('opens exactly at the threshold, not one failure before', async () => {
    const { breaker } = make({ failureThreshold: 3 });
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().failure_count).toBe(2);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().failure_count).toBe(0);
  });

  it('defaults to 5 consecutive failures', async () => {
    const { breaker } = make();
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('a success resets the run; an ignored error does not', async () => {
    class RateLimited extends Error {}
    const { breaker } = make({ failureThreshold: 3, ignore: [RateLimited] });
    await failTimes(breaker, 2);
    await succeedTimes(breaker, 1);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await breaker.execute(() => Promise.reject(new RateLimited())).catch(() => undefined);
    expect(breaker.snapshot().failure_count).toBe(2);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('does not call fn while open and rejects with a stack-free CircuitBreakerOpenError', async () => {
    const { breaker } = make({ failureThreshold: 1, resetTimeoutMs: 30_000 });
    await failTimes(breaker, 1);
    const fn = jest.fn(ok);
    const error = (await breaker.execute(fn).catch((e: unknown) => e)) as CircuitBreakerOpenError;
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitBreakerOpenError);
    expect(error).toMatchObject({ code: 'CIRCUIT_OPEN', breakerName: 'svc', state: 'open', retryAfterMs: 30_000 });
    expect(error.stack).toBe(`CircuitBreakerOpenError: Circuit breaker 'svc' is open`);
    expect(() => breaker.tryAcquire()).toThrow(CircuitBreakerOpenError);
  });
});

describe('windows and rate rules', () => {
  it('count window: failureThreshold counts failures inside the window', async () => {
    const { breaker } = make({ window: { type: 'count', size: 4 }, failureThreshold: 2 });
    await failTimes(breaker, 1);
    await succeedTimes(breaker, 3);
    await failTimes(breaker, 1); // the first failure has left the window (4 calls)
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('rate rule stays silent below minimumCalls and opens exactly at the rate once reached', async () => {
    const { breaker } = make({ window: { type: 'count', size: 10 }, failureRateThreshold: 50, minimumCalls: 4 });
    await failTimes(breaker, 3); // 100% but only 3 calls
    expect(breaker.state).toBe('closed');
    await succeedTimes(breaker, 1); // 3/4 = 75% at 4 calls: still no decision (a success never trips a failure rate)
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1); // 4/5 = 80%
    expect(breaker.state).toBe('open');
  });

  it('rate rule opens at exactly the threshold (>=)', async () => {
    const { breaker } = make({ window: { type: 'count', size: 10 }, failureRateThreshold: 50, minimumCalls: 4 });
    await succeedTimes(breaker, 2);
    await failTimes(breaker, 1); // 1/3
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1); // 2/4 = 50%
    expect(breaker.state).toBe('open');
  });

  it('defaults to minimumCalls 10 for rate rules', async () => {
    const { breaker } = make({ window: { type: 'count', size: 100 }, failureRateThreshold: 50 });
    await failTimes(breaker, 9);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('slow-call rate opens the circuit even when the slow calls succeed', async () => {
    const { breaker, clock } = make({
      window: { type: 'count', size: 10 }, slowCallDurationMs: 100, slowCallRateThreshold: 50, minimumCalls: 2,
    });
    const slowOk = async () => {
      clock.advance(150);
      return 'late';
    };
    await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
    await breaker.execute(slowOk); // 1 slow of 2 = 50%
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().total_slow_calls).toBe(1);
  });

  it('time window forgets everything after an idle period of its duration', async () => {
    const { breaker, clock } = make({ window: { type: 'time', durationMs: 10_000 }, failureThreshold: 3 });
    await failTimes(breaker, 2);
    expect(breaker.snapshot().failure_count).toBe(2);
    clock.advance(10_000);
    expect(breaker.snapshot().failure_count).toBe(0);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('time window drops old buckets but keeps recent ones', async () => {
    const { breaker, clock } = make({ window: { type: 'time', durationMs: 10_000, buckets: 10 }, failureThreshold: 3 });
    await failTimes(breaker, 1); // t=0
    clock.advance(5_000);
    await failTimes(breaker, 1); // t=5000
    clock.advance(5_000); // t=10000: the t=0 bucket is out, the t=5000 one is in
    expect(breaker.snapshot().failure_count).toBe(1);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('failure_threshold is null for a windowed breaker without a count rule', () => {
    const { breaker } = make({ window: { type: 'count', size: 10 }, failureRateThreshold: 50 });
    expect(breaker.snapshot().failure_threshold).toBeNull();
  });
});

describe('OPEN → HALF_OPEN (lazy, fake clock)', () => {
  it('moves on a plain read of the state once resetTimeoutMs has elapsed', async () => {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 1_000 });
    await failTimes(breaker, 1);
    clock.advance(999);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().time_until_retry).toBe(0.1);
    clock.advance(1);
    expect(breaker.state).toBe('half_open');
  });

  it('snapshot also moves it, and time_until_retry is present only while open', async () => {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 45_300 });
    expect('time_until_retry' in breaker.snapshot()).toBe(false);
    await failTimes(breaker, 1);
    expect(breaker.snapshot().time_until_retry).toBe(45.3);
    clock.advance(45_300);
    const snap = breaker.snapshot();
    expect(snap.state).toBe('half_open');
    expect('time_until_retry' in snap).toBe(false);
  });

  it('moving Date.now() by an hour moves nothing', async () => {
    const { breaker } = make({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    await failTimes(breaker, 1);
    const realNow = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(realNow + 3_600_000);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs).toBe(60_000);
  });

  it('the default clock is monotonic: a wall-clock jump leaves an open breaker open', async () => {
    const breaker = new Breaker('real', { failureThreshold: 1, resetTimeoutMs: 60_000 });
    await breaker.execute(fail).catch(() => undefined);
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    expect(breaker.state).toBe('open');
  });
});

describe('HALF_OPEN', () => {
  async function halfOpen(options: CircuitBreakerOptions = {}) {
    const made = make({ failureThreshold: 1, resetTimeoutMs: 1_000, ...options });
    await failTimes(made.breaker, 1);
    made.clock.advance(1_000);
    expect(made.breaker.state).toBe('half_open');
    return made;
  }

  it.each([1, 3])('10,000 concurrent calls run exactly halfOpenMaxCalls (%i) times; the rest are rejected at once', async (max) => {
    const { breaker } = await halfOpen({ halfOpenMaxCalls: max, successThreshold: max });
    const gate = deferred();
    let runs = 0;
    const calls = Array.from({ length: 10_000 }, () => breaker.execute(async () => {
      runs++;
      await gate.promise;
      return 'probe';
    }));
    expect(runs).toBe(max);
    const rejected = await Promise.race([Promise.allSettled(calls.slice(max)), new Promise((r) => setImmediate(() => r('pending')))]);
    expect(rejected).not.toBe('pending'); // rejections came without waiting for the probes
    gate.resolve(undefined);
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(max);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().total_rejections).toBe(10_000 - max);
  });

  it('needs successThreshold probe successes to close; any probe failure reopens', async () => {
    const { breaker, clock } = await halfOpen({ successThreshold: 2 });
    await succeedTimes(breaker, 1);
    expect(breaker.state).toBe('half_open');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    await succeedTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('an ignored probe error releases its slot and decides nothing', async () => {
    const { breaker } = await halfOpen({ isFailure: (e) => !(e instanceof TypeError) });
    await breaker.execute(() => Promise.reject(new TypeError('bad request'))).catch(() => undefined);
    expect(breaker.state).toBe('half_open');
    await succeedTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().total_ignored).toBe(1);
  });

  it('a probe that never settles sends the breaker back to OPEN after halfOpenTimeoutMs', async () => {
    const { breaker, clock } = await halfOpen({ halfOpenTimeoutMs: 5_000 });
    void breaker.execute(() => new Promise(() => undefined)); // hangs forever
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'half_open' });
    clock.advance(4_999);
    expect(breaker.state).toBe('half_open');
    clock.advance(1);
    expect(breaker.state).toBe('open');
    clock.advance(1_000);
    await succeedTimes(breaker, 1); // a fresh probe slot in the new half-open period
    expect(breaker.state).toBe('closed');
  });

  it('a permit released by ignore() frees the probe slot', async () => {
    const { breaker } = await halfOpen();
    const permit = breaker.tryAcquire();
    expect(() => breaker.tryAcquire()).toThrow(CircuitBreakerOpenError);
    permit.ignore();
    permit.failure(boom()); // a permit settles once
    expect(breaker.state).toBe('half_open');
    breaker.tryAcquire().success();
    expect(breaker.state).toBe('closed');
  });
});

describe('backoff', () => {
  it('grows the open period on each reopen, caps it, and resets it on close', async () => {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 1_000, backoff: { multiplier: 2, maxMs: 5_000 } });
    const openFor = async () => {
      const { retryAfterMs } = (await breaker.execute(ok).catch((e: unknown) => e)) as CircuitBreakerOpenError;
      clock.advance(retryAfterMs);
      expect(breaker.state).toBe('half_open');
      return retryAfterMs;
    };
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(1_000);
    await failTimes(breaker, 1); // probe fails: reopen
    expect(await openFor()).toBe(2_000);
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(4_000);
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(5_000); // capped
    await succeedTimes(breaker, 1); // close resets the backoff
    await failTimes(breaker, 1);
    expect(await openFor()).toBe(1_000);
  });

  it('jitter draws each open period from [d × (1 − jitter), d]', async () => {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 10_000, backoff: { multiplier: 1, maxMs: 10_000, jitter: 0.5 } });
    const random = jest.spyOn(Math, 'random');
    for (const r of [0, 0.5, 0.999]) {
      random.mockReturnValue(r);
      await failTimes(breaker, 1);
      expect(breaker.retryAfterMs).toBe(Math.ceil(10_000 * (1 - 0.5 * r)));
      clock.advance(10_000);
      await succeedTimes(breaker, 1);
    }
  });
});

describe('generations: stale outcomes never move the state', () => {
  it('a slow call from CLOSED that fails during HALF_OPEN does not reopen it', async () => {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 1_000 });
    const slow = deferred();
    const staleCall = breaker.execute(() => slow.promise).catch(() => undefined);
    await failTimes(breaker, 1); // opens
    clock.advance(1_000);
    expect(breaker.state).toBe('half_open');
    slow.reject(boom());
    await staleCall;
    expect(breaker.state).toBe('half_open');
    expect(breaker.snapshot().total_failures).toBe(2); // counted in the totals
    await succeedTimes(breaker, 1); // the probe slot was never taken by the stale call
    expect(breaker.state).toBe('closed');
  });

  it('a stale success does not close it, and a stale call does not free a probe slot', async () => {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 1_000 });
    const slow = deferred();
    const staleCall = breaker.execute(() => slow.promise);
    await failTimes(breaker, 1);
    clock.advance(1_000);
    const probe = deferred();
    const probeCall = breaker.execute(() => probe.promise);
    slow.resolve('late');
    await staleCall;
    expect(breaker.state).toBe('half_open');
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    probe.resolve('fresh');
    await probeCall;
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().total_successes).toBe(2);
  });

  it('a failure of an earlier CLOSED generation does not count toward the next run', async () => {
    const { breaker, clock } = make({ failureThreshold: 2, resetTimeoutMs: 1_000 });
    const slow = deferred();
    const staleCall = breaker.execute(() => slow.promise).catch(() => undefined);
    await failTimes(breaker, 2);
    clock.advance(1_000);
    await succeedTimes(breaker, 1); // closed again, new generation
    slow.reject(boom());
    await staleCall;
    expect(breaker.snapshot().failure_count).toBe(0);
  });
});

describe('statistics', () => {
  it('rejected calls never enter the failure statistics; ignored errors enter neither side', async () => {
    const { breaker } = make({ failureThreshold: 2, isFailure: (e) => (e as Error).message !== 'ignored' });
    await breaker.execute(() => Promise.reject(new Error('ignored'))).catch(() => undefined);
    await failTimes(breaker, 2);
    for (let i = 0; i < 5; i++) await breaker.execute(ok).catch(() => undefined);
    const snap = breaker.snapshot();
    expect(snap).toMatchObject({ total_failures: 2, total_rejections: 5, total_successes: 0, total_ignored: 1, total_requests: 7 });
  });

  it('snapshot after 750 successes, 34 failures and 50 rejections', async () => {
    const { breaker, clock } = make({ failureThreshold: 1_000_000, resetTimeoutMs: 1_000 });
    await succeedTimes(breaker, 750);
    await failTimes(breaker, 34);
    breaker.forceOpen();
    for (let i = 0; i < 50; i++) await breaker.execute(ok).catch(() => undefined);
    clock.advance(1);
    const snap = breaker.snapshot();
    expect(snap).toMatchObject({
      name: 'svc',
      state: 'forced_open',
      total_requests: 834,
      total_successes: 750,
      total_failures: 34,
      total_rejections: 50,
      success_rate: 89.9,
      rejection_rate: 6.0,
      failure_rate: 4.1,
    });
    expect(Object.keys(snap)).toEqual([
      'name', 'state', 'failure_count', 'failure_threshold', 'total_requests', 'total_successes', 'total_failures',
      'total_rejections', 'total_timeouts', 'total_ignored', 'total_slow_calls', 'success_rate', 'rejection_rate',
      'failure_rate', 'opened_at', 'last_failure_at', 'last_state_change_at',
    ]);
    expect(new Date(snap.opened_at!).toISOString()).toBe(snap.opened_at);
  });

  it('rates are 100.0 / 0.0 / 0.0 when nothing ran', () => {
    const { breaker } = make();
    expect(breaker.snapshot()).toMatchObject({ total_requests: 0, success_rate: 100, rejection_rate: 0, failure_rate: 0, opened_at: null, last_failure_at: null, last_state_change_at: null });
  });

  it('isFailureResult counts a returned value as a failure and still returns it', async () => {
    const { breaker } = make({ failureThreshold: 2, isFailureResult: (v) => (v as { status: number }).status >= 500 });
    await expect(breaker.execute(async () => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await expect(breaker.execute(() => ({ status: 500 }))).resolves.toEqual({ status: 500 });
    expect(breaker.state).toBe('open');
  });
});

describe('fallback', () => {
  it('is called with the error and the arguments on failure, rejection and timeout — not for ignored errors', async () => {
    jest.useFakeTimers();
    class Ignored extends Error {}
    const fallback = jest.fn((error: unknown, id: number) => `fallback:${id}:${(error as Error).constructor.name}`);
    const { breaker } = make({ failureThreshold: 2, callTimeoutMs: 100, ignore: [Ignored], fallback });
    await expect(breaker.execute(async (_id: number) => {
      throw new Ignored();
    }, 1)).rejects.toBeInstanceOf(Ignored);
    await expect(breaker.execute(async (_id: number) => {
      throw boom();
    }, 2)).resolves.toBe('fallback:2:Error');
    const hanging = breaker.execute((_id: number) => new Promise<string>(() => undefined), 3);
    jest.advanceTimersByTime(100);
    await expect(hanging).resolves.toBe('fallback:3:CallTimeoutError');
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(async (_id: number) => 'never', 4)).resolves.toBe('fallback:4:CircuitBreakerOpenError');
    expect(fallback).toHaveBeenCalledTimes(3);
  });

  it('emits `fallback` with the breaker state and the error before each fallback runs, and not for an ignored error', async () => {
    class Ignored extends Error {}
    const seen: string[] = [];
    const { breaker } = make({ failureThreshold: 1, ignore: [Ignored], fallback: () => {
      seen.push('fallback ran');
      return 'cached';
    } });
    breaker.on('fallback', (e) => seen.push(`${e.name} ${e.state} ${(e.error as Error).constructor.name}`));
    await expect(breaker.execute(async () => {
      throw new Ignored();
    })).rejects.toBeInstanceOf(Ignored);
    await expect(breaker.execute(fail)).resolves.toBe('cached'); // the failure opens the breaker first
    await expect(breaker.execute(ok)).resolves.toBe('cached');
    expect(seen).toEqual(['svc open Error', 'fallback ran', 'svc open CircuitBreakerOpenError', 'fallback ran']);
  });

  it('a throwing fallback rejects the call with the fallback’s error', async () => {
    const { breaker } = make({ fallback: () => {
      throw new Error('fallback broke');
    } });
    await expect(breaker.execute(fail)).rejects.toThrow('fallback broke');
  });
});

describe('callTimeoutMs', () => {
  it('rejects with CallTimeoutError, counts a failure and a timeout, and clears its timer on settle', async () => {
    jest.useFakeTimers();
    const { breaker } = make({ callTimeoutMs: 50, failureThreshold: 1 });
    const fast = breaker.execute(ok);
    expect(jest.getTimerCount()).toBe(1);
    await fast;
    expect(jest.getTimerCount()).toBe(0);
    const hanging = breaker.execute(() => new Promise(() => undefined));
    jest.advanceTimersByTime(50);
    await expect(hanging).rejects.toEqual(expect.objectContaining({ code: 'CALL_TIMEOUT', breakerName: 'svc', timeoutMs: 50 }));
    await expect(hanging).rejects.toBeInstanceOf(CallTimeoutError);
    expect(breaker.snapshot()).toMatchObject({ total_timeouts: 1, total_failures: 1, state: 'open' });
  });

  it('a hanging call without callTimeoutMs keeps its slot but creates no timer', async () => {
    jest.useFakeTimers();
    const { breaker } = make();
    void breaker.execute(() => new Promise(() => undefined));
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('listeners', () => {
  it('a throwing listener changes neither the outcome nor the state, and is logged', async () => {
    const logger = { error: jest.fn(), warn: jest.fn() };
    const breaker = new Breaker('svc', { failureThreshold: 1, clock: new FakeClock() }, { logger });
    const thrower = () => {
      throw new Error('listener bug');
    };
    for (const event of ['stateChange', 'success', 'failure', 'rejected', 'ignored'] as const) breaker.on(event, thrower);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    await expect(breaker.execute(fail)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining("'svc'"), expect.objectContaining({ message: 'listener bug' }));
  });

  it('emits stateChange with from, to and reason, and stops after unsubscribe', async () => {
    const { breaker, clock } = make({ failureThreshold: 2, resetTimeoutMs: 100 });
    const events: StateChangeEvent[] = [];
    const off = breaker.on('stateChange', (e) => events.push(e));
    await failTimes(breaker, 2);
    clock.advance(100);
    await succeedTimes(breaker, 1);
    off();
    off();
    breaker.forceOpen();
    expect(events.map((e) => [e.from, e.to, e.reason])).toEqual([
      ['closed', 'open', 'threshold reached: 2/2'],
      ['open', 'half_open', 'reset timeout elapsed'],
      ['half_open', 'closed', 'probe succeeded: 1/1'],
    ]);
    expect(breaker.listenerCount()).toBe(0);
  });

  it('reports durations to success and failure listeners', async () => {
    const { breaker, clock } = make();
    const durations: number[] = [];
    breaker.on('success', (e) => durations.push(e.durationMs));
    breaker.on('failure', (e) => durations.push(e.durationMs));
    await breaker.execute(async () => clock.advance(40));
    await breaker.execute(async () => {
      clock.advance(7);
      throw boom();
    }).catch(() => undefined);
    expect(durations).toEqual([40, 7]);
  });
});

describe('manual control', () => {
  it('reset() closes, clears window, totals and backoff, keeps transition counts, and is idempotent', async () => {
    const { breaker } = make({ failureThreshold: 1 });
    const changes: string[] = [];
    breaker.on('stateChange', (e) => changes.push(`${e.from}>${e.to}`));
    await failTimes(breaker, 1);
    expect(breaker.reset()).toBe(true);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_requests: 0, total_failures: 0, last_failure_at: null });
    expect(breaker.reset()).toBe(false);
    expect(changes).toEqual(['closed>open', 'open>closed']);
    expect(breaker.transitionCounts()).toEqual([
      { from: 'closed', to: 'open', count: 1 },
      { from: 'open', to: 'closed', count: 1 },
    ]);
  });

  it('forceOpen() rejects everything until reset(); repeated calls change and emit nothing', async () => {
    const { breaker, clock } = make({ resetTimeoutMs: 10 });
    const events: string[] = [];
    breaker.on('stateChange', (e) => events.push(e.to));
    expect(breaker.forceOpen()).toBe(true);
    expect(breaker.forceOpen()).toBe(false);
    clock.advance(1_000_000);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'forced_open' });
    expect(breaker.state).toBe('forced_open');
    breaker.reset();
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(events).toEqual(['forced_open', 'closed']);
  });

  it('disable() lets every call pass, counts outcomes, never changes state by itself; idempotent', async () => {
    const { breaker } = make({ failureThreshold: 1 });
    const events: string[] = [];
    breaker.on('stateChange', (e) => events.push(e.to));
    expect(breaker.disable()).toBe(true);
    expect(breaker.disable()).toBe(false);
    await failTimes(breaker, 10);
    expect(breaker.state).toBe('disabled');
    expect(breaker.snapshot().total_failures).toBe(10);
    expect(events).toEqual(['disabled']);
  });
});

describe('timers', () => {
  it('creates no setTimeout/setInterval without callTimeoutMs, across 10,000 breakers half of them tripped', async () => {
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    const setIntervalSpy = jest.spyOn(globalThis, 'setInterval');
    const clock = new FakeClock();
    const breakers = Array.from({ length: 10_000 }, (_, i) => new Breaker(`b${i}`, { failureThreshold: 1, clock }));
    for (let i = 0; i < breakers.length; i += 2) await breakers[i]!.execute(fail).catch(() => undefined);
    for (const b of breakers) await b.execute(ok).catch(() => undefined);
    clock.advance(60_000);
    for (const b of breakers) await b.execute(ok).catch(() => undefined);
    expect(breakers.filter((b) => b.state === 'closed')).toHaveLength(10_000);
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    expect(setIntervalSpy).not.toHaveBeenCalled();
  });
});

describe('configuration errors', () => {
  it('one CircuitBreakerConfigError names every bad path and value', () => {
    let error: CircuitBreakerConfigError | undefined;
    try {
      new Breaker('svc', {
        failureThreshold: 0,
        failureRateThreshold: 150,
        resetTimeoutMs: -1,
        halfOpenMaxCalls: 1.5,
        backoff: { multiplier: 0.5, maxMs: 1000 },
        // @ts-expect-error an unknown key
        timeout: 5,
      });
    } catch (e) {
      error = e as CircuitBreakerConfigError;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    const paths = error!.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['failureThreshold', 'failureRateThreshold', 'resetTimeoutMs', 'halfOpenMaxCalls', 'backoff.multiplier', 'timeout']));
    for (const fragment of ['failureThreshold: expected an integer >= 1, received 0', 'failureRateThreshold', 'received 150', 'resetTimeoutMs', 'received -1', 'received 1.5', 'timeout: unknown option', 'needs a window']) {
      expect(error!.message).toContain(fragment);
    }
  });

  it('a window needs a rule', () => {
    expect(() => new Breaker('svc', { window: { type: 'count', size: 10 } })).toThrow(/window: a window needs at least one rule/);
  });
});

describe('permits', () => {
  it('settle once; success(value) applies isFailureResult; failure(error) applies ignore', () => {
    class Ignored extends Error {}
    const { breaker } = make({ failureThreshold: 2, isFailureResult: (v) => v === 'bad', ignore: [Ignored] });
    const settle = (f: (p: BreakerPermit) => void) => f(breaker.tryAcquire());
    settle((p) => {
      p.success('bad');
      p.success();
    });
    settle((p) => p.failure(new Ignored()));
    expect(breaker.snapshot()).toMatchObject({ total_failures: 1, total_successes: 0, total_ignored: 1, state: 'closed' });
    settle((p) => p.failure(boom()));
    expect(breaker.state).toBe('open');
  });
});

describe('shared-store hooks', () => {
  function linked(options: CircuitBreakerOptions = {}) {
    const { breaker, clock } = make({ failureThreshold: 1, resetTimeoutMs: 1_000, ...options });
    const published: string[] = [];
    let grant = true;
    const sync = {
      publish: jest.fn((_b: Breaker, t: { state: string }) => void published.push(t.state)),
      acquireProbe: jest.fn(async () => grant),
      releaseProbe: jest.fn(),
    };
    breaker.attachSync(sync);
    return { breaker, clock, sync, published, deny: () => (grant = false) };
  }

  it('publishes every transition except to half_open, and never on the closed path', async () => {
    const { breaker, clock, published, sync } = linked();
    await succeedTimes(breaker, 3);
    expect(sync.publish).not.toHaveBeenCalled();
    await failTimes(breaker, 1);
    clock.advance(1_000);
    await succeedTimes(breaker, 1);
    breaker.forceOpen();
    breaker.reset();
    expect(published).toEqual(['open', 'closed', 'forced_open', 'reset']);
  });

  it('a half-open probe waits for the fleet lease; a refused lease rejects without calling fn and frees the slot', async () => {
    const { breaker, clock, sync, deny } = linked();
    await failTimes(breaker, 1);
    clock.advance(1_000);
    deny();
    const fn = jest.fn(ok);
    await expect(breaker.execute(fn)).rejects.toMatchObject({ state: 'half_open' });
    const again = breaker.acquire(); // the local slot was given back: admitted locally, asks the fleet again
    expect(again).toBeInstanceOf(Promise);
    await expect(again).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(fn).not.toHaveBeenCalled();
    expect(sync.acquireProbe).toHaveBeenCalledTimes(2);
  });

  it('acquire() returns a permit synchronously unless a fleet lease must be awaited', async () => {
    const { breaker, clock } = linked({ successThreshold: 2 });
    expect(breaker.acquire()).not.toBeInstanceOf(Promise);
    await failTimes(breaker, 1);
    clock.advance(1_000);
    const pending = breaker.acquire();
    expect(pending).toBeInstanceOf(Promise);
    (await pending).success();
    expect(breaker.state).toBe('half_open');
  });

  it('a probe success that does not close releases its lease', async () => {
    const { breaker, clock, sync } = linked({ successThreshold: 2, halfOpenMaxCalls: 2 });
    await failTimes(breaker, 1);
    clock.advance(1_000);
    await succeedTimes(breaker, 1);
    expect(sync.releaseProbe).toHaveBeenCalledTimes(1);
  });

  it('applyRemote mirrors an open period (even one already over), drops its own echo and older news', async () => {
    const { breaker, published } = linked();
    const at = Date.now();
    expect(breaker.applyRemote({ state: 'open', openUntil: at + 5_000, reason: 'threshold reached: 1/1', at })).toBe(true);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs).toBeGreaterThan(4_000);
    expect(breaker.applyRemote({ state: 'closed', reason: 'older', at: at - 1 })).toBe(false);
    expect(breaker.state).toBe('open');
    expect(published).toEqual([]); // nothing received is shared back
    const fresh = make().breaker;
    fresh.applyRemote({ state: 'open', openUntil: at - 1, reason: 'over', at: at + 1 });
    expect(fresh.state).toBe('half_open');
  });
});

describe('CircuitBreakerOpenError built without a stack', () => {
  it('behaves like an error: instanceof, name, message, stack header, toString, assignable message', async () => {
    const { breaker } = make({ failureThreshold: 1, resetTimeoutMs: 5_000 });
    await failTimes(breaker, 1);
    const error = (await breaker.execute(ok).catch((e: unknown) => e)) as CircuitBreakerOpenError;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CircuitBreakerOpenError');
    expect(error.message).toBe("Circuit breaker 'svc' is open");
    expect(error.stack).toBe("CircuitBreakerOpenError: Circuit breaker 'svc' is open");
    expect(Object.keys(error)).toEqual(['code', 'breakerName', 'state', 'retryAfterMs']);
    expect(String(error)).toBe("CircuitBreakerOpenError: Circuit breaker 'svc' is open");
    error.message = 'rewritten';
    expect(error.message).toBe('rewritten');
    expect(Object.keys(error)).not.toContain('message');
  });

  it('rejects even while a test fakes the timers and microtask queue', async () => {
    jest.useFakeTimers();
    const { breaker } = make({ failureThreshold: 1 });
    await failTimes(breaker, 1);
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
  });
});

describe('executeApply', () => {
  it('calls fn with this and the argument list, with the outcomes and rejections of execute', async () => {
    const { breaker } = make({ failureThreshold: 1 });
    const self = { base: 10 };
    const add = function (this: typeof self, a: number, b: number) {
      return Promise.resolve(this.base + a + b);
    };
    await expect(breaker.executeApply(add, self, [1, 2])).resolves.toBe(13);
    await expect(breaker.executeApply(() => {
      throw boom();
    }, undefined, [])).rejects.toThrow('boom');
    await expect(breaker.executeApply(add, self, [1, 2])).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    expect(breaker.snapshot()).toMatchObject({ total_successes: 1, total_failures: 1, total_rejections: 1 });
  });

  it('takes the general path (fallback, arguments) when the breaker needs it', async () => {
    const { breaker } = make({ fallback: (_e: unknown, a: number) => `fallback ${a}` });
    await expect(breaker.executeApply(async (a: number) => {
      throw new Error(`no ${a}`);
    }, undefined, [7])).resolves.toBe('fallback 7');
  });
});

describe('a call that moves its own breaker', () => {
  it('counts its outcome in the generation it started in (stale after a reset it made itself)', async () => {
    const { breaker } = make({ failureThreshold: 2 });
    await expect(breaker.execute(() => {
      breaker.reset();
      return Promise.reject(boom());
    })).rejects.toThrow('boom');
    expect(breaker.snapshot().failure_count).toBe(0);
    await expect(breaker.executeApply(() => {
      breaker.reset();
      throw boom();
    }, undefined, [])).rejects.toThrow('boom');
    expect(breaker.snapshot().failure_count).toBe(0);
  });
});

describe('a count window smaller than minimumCalls', () => {
  it('uses the window size as the minimum, so its rate rule can still open it', async () => {
    const { breaker } = make({ window: { type: 'count', size: 5 }, failureRateThreshold: 50 });
    expect(breaker.options.minimumCalls).toBe(5);
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });
});
