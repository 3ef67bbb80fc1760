import { describeValue } from './errors.js';

// Every user-facing message of retries and fallback chains, in one place.

/** A short, one-line rendering of a thrown value: `Error: boom`, `"a string"`, `42`. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return describeValue(error);
}

export function retryExhaustedMessage(attempts: number, lastError: unknown, operation?: string): string {
  const what = operation === undefined ? 'Retried call' : `'${operation}'`;
  return `${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}; last error: ${describeError(lastError)}`;
}

export function allTiersFailedMessage(tiers: readonly string[], errors: readonly unknown[]): string {
  const lines = tiers.map((tier, i) => `  - ${tier}: ${describeError(errors[i])}`);
  return `All ${tiers.length} fallback tier${tiers.length === 1 ? '' : 's'} failed:\n${lines.join('\n')}`;
}

export const RETRY_EXPECTED = {
  options: 'expected a retry options object { maxAttempts, baseDelayMs, maxDelayMs, multiplier, jitter, retryOn }',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  maxAttempts: 'expected an integer >= 1 (the first call included)',
  delayMs: (max: number) => `expected a duration in ms in [0, ${max}]`,
  maxDelayAtLeastBase: (baseDelayMs: number) => `expected a duration >= baseDelayMs (${baseDelayMs})`,
  multiplier: 'expected a finite number >= 1',
  jitter: 'expected a boolean',
  retryOn: 'expected a function (error, attempt) => boolean',
} as const;

export const FALLBACK_EXPECTED = {
  tiers: 'expected an array of tiers { name, fn, breaker? }',
  atLeastOneTier: 'expected at least one tier',
  tier: 'expected a tier { name, fn, breaker? }',
  unknownKey: 'unknown tier option (known: name, fn, breaker)',
  name: 'expected a non-empty string',
  fn: 'expected a function (...args) => value',
  breaker: 'expected a Breaker instance (or no breaker)',
} as const;
