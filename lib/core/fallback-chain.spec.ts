import { describe, expect, it, jest } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker } from './breaker.js';
import { AllTiersFailedError } from './composition-errors.js';
import { CircuitBreakerConfigError, CircuitBreakerError, CircuitBreakerOpenError } from './errors.js';
import { executeWithFallback, FallbackChain, type FallbackTier } from './fallback-chain.js';

const silentLogger = { error: jest.fn(), warn: jest.fn() };
const makeBreaker = (name: string, failureThreshold = 1) =>
  new Breaker(name, { failureThreshold, resetTimeoutMs: 30_000, clock: new FakeClock() }, { logger: silentLogger });
const failing = (message: string) => jest.fn(async (..._args: unknown[]): Promise<string> => {
  throw new Error(message);
});

describe('executeWithFallback', () => {
  it('answers with the first tier that succeeds, passing the arguments; later tiers are not called', async () => {
    const primary = failing('primary down');
    const secondary = jest.fn(async (id: string, n: number) => `secondary:${id}:${n}`);
    const tertiary = jest.fn(async () => 'tertiary');
    const tiers: FallbackTier<[string, number], string>[] = [
      { name: 'primary', fn: primary },
      { name: 'secondary', fn: secondary },
      { name: 'tertiary', fn: tertiary },
    ];
    await expect(executeWithFallback(tiers, 'acct-1', 7)).resolves.toBe('secondary:acct-1:7');
    expect(primary).toHaveBeenCalledWith('acct-1', 7);
    expect(tertiary).not.toHaveBeenCalled();
  });

  it('accepts sync tiers; a synchronous throw moves on like a rejection', async () => {
    const result = await executeWithFallback([
      { name: 'sync-throw', fn: () => {
        throw new Error('nope');
      } },
      { name: 'sync-value', fn: () => 42 },
    ]);
    expect(result).toBe(42);
  });

  it('AllTiersFailedError lists one error per tier, in tier order', async () => {
    const errors = [new Error('a'), new TypeError('b'), new RangeError('c')];
    const error = await executeWithFallback([
      { name: 'first', fn: async () => { throw errors[0]; } },
      { name: 'second', fn: () => { throw errors[1]; } },
      { name: 'third', fn: async () => { throw errors[2]; } },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AllTiersFailedError);
    expect(error).toBeInstanceOf(CircuitBreakerError);
    const e = error as AllTiersFailedError;
    expect(e.code).toBe('ALL_TIERS_FAILED');
    expect(e.errors).toEqual(errors);
    expect(e.errors[0]).toBe(errors[0]);
    expect(e.tiers).toEqual(['first', 'second', 'third']);
    expect(e.message).toBe('All 3 fallback tiers failed:\n  - first: Error: a\n  - second: TypeError: b\n  - third: RangeError: c');
  });

  it('skips a tier whose breaker is open without calling it, recording its CircuitBreakerOpenError', async () => {
    const mcp = makeBreaker('tier1_mcp');
    mcp.forceOpen();
    const tier1 = jest.fn(async () => 'mcp');
    const tier2 = failing('sdk down');
    const error = await executeWithFallback([
      { name: 'mcp', fn: tier1, breaker: mcp },
      { name: 'sdk', fn: tier2 },
    ]).catch((e: unknown) => e);
    expect(tier1).not.toHaveBeenCalled();
    expect(tier2).toHaveBeenCalledTimes(1);
    const [skipped, failed] = (error as AllTiersFailedError).errors;
    expect(skipped).toBeInstanceOf(CircuitBreakerOpenError);
    expect(skipped).toMatchObject({ breakerName: 'tier1_mcp', state: 'forced_open' });
    expect(failed).toEqual(new Error('sdk down'));
    expect((error as Error).message).toContain("  - mcp: CircuitBreakerOpenError: Circuit breaker 'tier1_mcp' is forced open");
  });

  it('a tier failing through its breaker trips it; the next requests skip that tier until it recovers', async () => {
    const clock = new FakeClock();
    const breaker = new Breaker('live', { failureThreshold: 2, resetTimeoutMs: 10_000, clock }, { logger: silentLogger });
    let liveUp = false;
    const live = jest.fn(async (sym: string) => {
      if (!liveUp) throw new Error('live feed down');
      return `live:${sym}`;
    });
    const chain = new FallbackChain([
      { name: 'live', fn: live, breaker },
      { name: 'cache', fn: async (sym: string) => `cached:${sym}` },
    ]);
    await expect(chain.execute('ACME')).resolves.toBe('cached:ACME');
    await expect(chain.execute('ACME')).resolves.toBe('cached:ACME');
    expect(breaker.state).toBe('open');
    await expect(chain.execute('ACME')).resolves.toBe('cached:ACME');
    expect(live).toHaveBeenCalledTimes(2); // the third request skipped the open tier
    expect(breaker.snapshot()).toMatchObject({ total_failures: 2, total_rejections: 1 });

    liveUp = true;
    clock.advance(10_000); // half-open: the next request probes the live tier again
    await expect(chain.execute('ACME')).resolves.toBe('live:ACME');
    expect(breaker.state).toBe('closed');
  });

  it('a tier whose breaker has its own `fallback` answers with it: the chain stops there', async () => {
    const breaker = new Breaker('primary', { fallback: () => 'breaker fallback', clock: new FakeClock() }, { logger: silentLogger });
    const next = jest.fn(async () => 'next tier');
    await expect(executeWithFallback([
      { name: 'primary', fn: failing('down'), breaker },
      { name: 'next', fn: next },
    ])).resolves.toBe('breaker fallback');
    expect(next).not.toHaveBeenCalled();
  });

  it('an empty list rejects with CircuitBreakerConfigError', async () => {
    const error = await executeWithFallback([]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect((error as Error).message).toContain('tiers: expected at least one tier, received []');
  });

  it('invalid tiers are rejected with every problem listed', async () => {
    const error = await executeWithFallback([
      { name: '', fn: async () => 1 },
      { name: 'b', fn: 'not a function', breaker: {}, retries: 2 },
      null,
    ] as unknown as FallbackTier[]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect((error as CircuitBreakerConfigError).problems.map((p) => p.path)).toEqual(
      ['tiers[0].name', 'tiers[1].retries', 'tiers[1].fn', 'tiers[1].breaker', 'tiers[2]'],
    );
  });
});

describe('FallbackChain', () => {
  it('validates once, at construction', () => {
    expect(() => new FallbackChain([])).toThrow(CircuitBreakerConfigError);
    expect(() => new FallbackChain('primary' as unknown as FallbackTier[])).toThrow('tiers: expected an array of tiers');
  });

  it('is reusable and keeps its own copy of the tiers', async () => {
    const tiers: FallbackTier<[number], string>[] = [
      { name: 'double', fn: async (n) => (n > 0 ? `double:${n * 2}` : Promise.reject(new Error('not positive'))) },
      { name: 'zero', fn: () => 'zero' },
    ];
    const chain = new FallbackChain(tiers);
    tiers.length = 0;
    expect(chain.names).toEqual(['double', 'zero']);
    await expect(chain.execute(2)).resolves.toBe('double:4');
    await expect(chain.execute(-1)).resolves.toBe('zero');
  });
});
