import { Breaker } from './breaker.js';
import { AllTiersFailedError } from './composition-errors.js';
import { FALLBACK_EXPECTED } from './composition.messages.js';
import { CircuitBreakerConfigError, type ConfigProblem } from './errors.js';

/** One tier of a fallback chain: a way to get the answer, optionally behind its own breaker. */
export interface FallbackTier<A extends unknown[] = unknown[], R = unknown> {
  /** names the tier in `AllTiersFailedError` */
  name: string;
  /** the call; sync or async, it gets the arguments given to `execute` */
  fn: (...args: A) => R | PromiseLike<R>;
  /** when given, the tier runs through it, and is skipped without a call while it is open */
  breaker?: Breaker;
}

const TIER_KEYS = ['name', 'fn', 'breaker'];

/** Checks a list of tiers and returns every problem found (empty when valid). */
export function validateFallbackTiers(tiers: unknown, path = 'tiers'): ConfigProblem[] {
  if (!Array.isArray(tiers)) return [{ path, expected: FALLBACK_EXPECTED.tiers, value: tiers }];
  if (tiers.length === 0) return [{ path, expected: FALLBACK_EXPECTED.atLeastOneTier, value: tiers }];
  const problems: ConfigProblem[] = [];
  tiers.forEach((tier: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof tier !== 'object' || tier === null) {
      problems.push({ path: at, expected: FALLBACK_EXPECTED.tier, value: tier });
      return;
    }
    const t = tier as Record<string, unknown>;
    for (const key of Object.keys(t)) {
      if (!TIER_KEYS.includes(key)) problems.push({ path: `${at}.${key}`, expected: FALLBACK_EXPECTED.unknownKey, value: t[key] });
    }
    if (typeof t.name !== 'string' || t.name === '') problems.push({ path: `${at}.name`, expected: FALLBACK_EXPECTED.name, value: t.name });
    if (typeof t.fn !== 'function') problems.push({ path: `${at}.fn`, expected: FALLBACK_EXPECTED.fn, value: t.fn });
    if (t.breaker !== undefined && !(t.breaker instanceof Breaker)) {
      problems.push({ path: `${at}.breaker`, expected: FALLBACK_EXPECTED.breaker, value: t.breaker });
    }
  });
  return problems;
}

/**
 * Tiers tried in order until one answers: a primary, then its fallbacks. A tier behind an open breaker
 * is skipped without a call (its `CircuitBreakerOpenError` is recorded); any error moves on to the next
 * tier; when every tier failed, `AllTiersFailedError` lists one error per tier, in tier order.
 *
 * Build it once (it validates its tiers) and call `execute` per request.
 *
 * @example
 * const quotes = new FallbackChain([
 *   { name: 'live', fn: (sym: string) => liveApi.quote(sym), breaker: liveBreaker },
 *   { name: 'replica', fn: (sym: string) => replica.quote(sym), breaker: replicaBreaker },
 *   { name: 'cache', fn: (sym: string) => cache.lastQuote(sym) },
 * ]);
 * const quote = await quotes.execute('ACME');
 */
export class FallbackChain<A extends unknown[] = unknown[], R = unknown> {
  private readonly tiers: readonly Readonly<FallbackTier<A, R>>[];

  constructor(tiers: readonly FallbackTier<A, R>[]) {
    const problems = validateFallbackTiers(tiers);
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
    this.tiers = Object.freeze(tiers.map((t) => Object.freeze({ ...t })));
  }

  /** The tiers' names, in order. */
  get names(): string[] {
    return this.tiers.map((t) => t.name);
  }

  /** Tries each tier with `args` in order; resolves with the first answer. */
  async execute(...args: A): Promise<R> {
    const errors: unknown[] = [];
    for (const tier of this.tiers) {
      try {
        // A tier's breaker rejects without calling fn while open: that is the skip.
        return await (tier.breaker === undefined ? tier.fn(...args) : tier.breaker.execute(tier.fn, ...args));
      } catch (error) {
        errors.push(error);
      }
    }
    throw new AllTiersFailedError(this.names, errors);
  }
}

/**
 * One-shot form of {@link FallbackChain}: tries `tiers` in order with `args` and resolves with the
 * first answer, or rejects with `AllTiersFailedError`. Invalid tiers (an empty list among them) reject
 * with `CircuitBreakerConfigError`.
 */
export function executeWithFallback<A extends unknown[], R>(tiers: readonly FallbackTier<A, R>[], ...args: A): Promise<R> {
  let chain: FallbackChain<A, R>;
  try {
    chain = new FallbackChain(tiers);
  } catch (error) {
    return Promise.reject(error);
  }
  return chain.execute(...args);
}
