import { RetryExhaustedError } from './composition-errors.js';
import { RETRY_EXPECTED } from './composition.messages.js';
import { CircuitBreakerConfigError, type ConfigProblem, isCircuitBreakerOpenError } from './errors.js';
import { isRecord } from './guards.js';

/** How to retry a failing call: exponential backoff with full jitter. */
export interface RetryOptions {
  /** attempts in all, the first call included (1 = no retry) @default 3 */
  maxAttempts?: number;
  /** the delay cap before the first retry, in ms; each later retry multiplies it @default 1000 */
  baseDelayMs?: number;
  /** no delay ever exceeds this, in ms @default 30000 */
  maxDelayMs?: number;
  /** growth of the delay cap per retry (>= 1) @default 2 */
  multiplier?: number;
  /**
   * `true`: "full jitter", each delay is drawn uniformly from [0, cap] so that many clients do not
   * retry in step; `false`: each delay is exactly the cap.
   * @default true
   */
  jitter?: boolean;
  /**
   * Whether the error of attempt `attempt` (1 = the first call) is worth retrying. Asked after every
   * failed attempt, the last one included: `false` rethrows the error as it is, at once.
   * A `CircuitBreakerOpenError` is never retried, whatever this says.
   * @default every error is retried
   */
  retryOn?: (error: unknown, attempt: number) => boolean;
}

/** Retry options with every default applied. */
export interface ResolvedRetryOptions {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: boolean;
  readonly retryOn: ((error: unknown, attempt: number) => boolean) | null;
}

/** Injection points for tests (and for callers with their own scheduler). */
export interface RetryHooks {
  /** waits `ms` @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
  /** a number in [0, 1) @default Math.random */
  random?: () => number;
  /** what is retried, e.g. `PaymentsService.charge`: named in `RetryExhaustedError` and config errors */
  operation?: string;
}

export const DEFAULT_RETRY_OPTIONS: Readonly<Required<Omit<RetryOptions, 'retryOn'>>> = Object.freeze({
  maxAttempts: 3,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: true,
});

export const RETRY_OPTION_KEYS: readonly (keyof RetryOptions)[] = ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'multiplier', 'jitter', 'retryOn'];

/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

const isDelayMs = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_TIMER_MS;

/**
 * Checks retry options and returns every problem found (empty when valid). `path` prefixes each
 * problem's path, e.g. `PaymentsService.charge @Retry`.
 */
export function validateRetryOptions(options: unknown, path = ''): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (options === undefined) return problems;
  if (!isRecord(options)) {
    problems.push({ path: path || 'options', expected: RETRY_EXPECTED.options, value: options });
    return problems;
  }
  for (const key of Object.keys(options)) {
    if (!(RETRY_OPTION_KEYS as readonly string[]).includes(key)) {
      problems.push({ path: at(key), expected: RETRY_EXPECTED.unknownKey(RETRY_OPTION_KEYS), value: options[key] });
    }
  }
  const check = (key: keyof RetryOptions, ok: (v: unknown) => boolean, expected: string) => {
    const value = options[key];
    if (value !== undefined && !ok(value)) problems.push({ path: at(key), expected, value });
  };
  check('maxAttempts', (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1, RETRY_EXPECTED.maxAttempts);
  check('baseDelayMs', isDelayMs, RETRY_EXPECTED.delayMs(MAX_TIMER_MS));
  check('maxDelayMs', isDelayMs, RETRY_EXPECTED.delayMs(MAX_TIMER_MS));
  check('multiplier', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 1, RETRY_EXPECTED.multiplier);
  check('jitter', (v) => typeof v === 'boolean', RETRY_EXPECTED.jitter);
  check('retryOn', (v) => typeof v === 'function', RETRY_EXPECTED.retryOn);
  const base = options.baseDelayMs ?? DEFAULT_RETRY_OPTIONS.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RETRY_OPTIONS.maxDelayMs;
  if (isDelayMs(base) && isDelayMs(max) && (max as number) < (base as number)) {
    problems.push({ path: at('maxDelayMs'), expected: RETRY_EXPECTED.maxDelayAtLeastBase(base as number), value: max });
  }
  return problems;
}

/** Validates and applies defaults. Throws `CircuitBreakerConfigError` listing every problem. */
export function resolveRetryOptions(options?: RetryOptions, path = ''): ResolvedRetryOptions {
  const problems = validateRetryOptions(options, path);
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  const o = options ?? {};
  const d = DEFAULT_RETRY_OPTIONS;
  return Object.freeze({
    maxAttempts: o.maxAttempts ?? d.maxAttempts,
    baseDelayMs: o.baseDelayMs ?? d.baseDelayMs,
    maxDelayMs: o.maxDelayMs ?? d.maxDelayMs,
    multiplier: o.multiplier ?? d.multiplier,
    jitter: o.jitter ?? d.jitter,
    retryOn: o.retryOn ?? null,
  });
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// Looked up at call time, so that a test's spy on Math.random is seen.
const defaultRandom = () => Math.random();

/**
 * A validated retry policy: the delays, the retry decision and the Promise retry loop. Build it once
 * (it validates its options) and run it many times; `retry()` is the one-shot form.
 */
export class RetryPolicy {
  readonly options: ResolvedRetryOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly operation: string | undefined;

  constructor(options?: RetryOptions, hooks?: RetryHooks) {
    this.operation = hooks?.operation;
    this.options = resolveRetryOptions(options, this.operation === undefined ? '' : `${this.operation} @Retry`);
    this.sleep = hooks?.sleep ?? defaultSleep;
    this.random = hooks?.random ?? defaultRandom;
  }

  /** The largest delay before retry number `retry` (1 = the retry after the first call). */
  delayCapMs(retry: number): number {
    const { baseDelayMs, maxDelayMs, multiplier } = this.options;
    if (baseDelayMs === 0) return 0;
    const cap = baseDelayMs * multiplier ** (retry - 1);
    return cap < maxDelayMs ? cap : maxDelayMs; // also caps an overflow to Infinity
  }

  /**
   * Attempt number `attempt` (1 = the first call) failed with `error`: returns how many ms to wait
   * before the next attempt, or throws what the caller must end with — the error itself when it is
   * not retryable, else a `RetryExhaustedError` once every attempt is spent.
   */
  nextDelayMs(error: unknown, attempt: number): number {
    if (isCircuitBreakerOpenError(error)) throw error;
    const retryOn = this.options.retryOn;
    if (retryOn !== null && !retryOn(error, attempt)) throw error;
    if (attempt >= this.options.maxAttempts) throw new RetryExhaustedError(attempt, error, this.operation);
    const cap = this.delayCapMs(attempt);
    return this.options.jitter ? this.random() * cap : cap;
  }

  /**
   * Calls `fn(attempt)` until it succeeds, waiting between attempts. `fn` may be sync or async; a
   * synchronous throw is a failed attempt like a rejection.
   */
  execute<T>(fn: (attempt: number) => T | PromiseLike<T>): Promise<Awaited<T>> {
    return this.executeFrom(fn, 1);
  }

  /**
   * The retry loop, starting at attempt `attempt`; `pending` is that attempt's result when the
   * caller already made the call (the explorer does, to learn a method's return kind).
   * @internal
   */
  async executeFrom<T>(fn: (attempt: number) => T | PromiseLike<T>, attempt: number, pending?: PromiseLike<T>): Promise<Awaited<T>> {
    for (;;) {
      try {
        return await (pending ?? fn(attempt));
      } catch (error) {
        await this.sleep(this.nextDelayMs(error, attempt));
      }
      attempt++;
      pending = undefined;
    }
  }
}

/**
 * Calls `fn` until it succeeds, at most `maxAttempts` times, waiting an exponentially growing, jittered
 * delay between attempts. Never retries a `CircuitBreakerOpenError`; rethrows an error `retryOn`
 * rejects as it is; ends with `RetryExhaustedError { attempts, lastError }`. Invalid options reject
 * with `CircuitBreakerConfigError` before any call.
 *
 * @example
 * const user = await retry(() => http.get(`/users/${id}`), { maxAttempts: 4, baseDelayMs: 200 });
 */
export function retry<T>(fn: (attempt: number) => T | PromiseLike<T>, options?: RetryOptions, hooks?: RetryHooks): Promise<Awaited<T>> {
  let policy: RetryPolicy;
  try {
    policy = new RetryPolicy(options, hooks);
  } catch (error) {
    return Promise.reject(error); // invalid options: a rejection, like every other outcome
  }
  return policy.execute(fn);
}
