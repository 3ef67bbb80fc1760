import type { Clock } from './clock.js';
import { monotonicClock } from './clock.js';
import { CircuitBreakerConfigError, type ConfigProblem } from './errors.js';
import { isRecord } from './guards.js';

/** The last `size` calls. */
export interface CountWindowOptions {
  type: 'count';
  /** how many of the most recent calls the window holds */
  size: number;
}

/** The calls of the last `durationMs`, aggregated in fixed buckets. */
export interface TimeWindowOptions {
  type: 'time';
  /** how far back the window reaches, in ms */
  durationMs: number;
  /**
   * how many buckets the duration is cut into; a bucket leaves the window whole, so the window
   * covers between `durationMs × (1 − 1/buckets)` and `durationMs` of history.
   * @default 10
   */
  buckets?: number;
}

export type WindowOptions = CountWindowOptions | TimeWindowOptions;

export interface BackoffOptions {
  /** each reopen without a successful close multiplies the open time by this (>= 1) */
  multiplier: number;
  /** the open time never exceeds this, in ms */
  maxMs: number;
  /**
   * a fraction in [0, 1]: each open period is drawn uniformly from `[d × (1 − jitter), d]`,
   * so breakers of many instances do not retry in step.
   * @default 0
   */
  jitter?: number;
}

export interface ProbeOptions {
  /** how often to check the dependency while OPEN, in ms */
  intervalMs: number;
  /** the check; resolving (or returning) without throwing counts as healthy */
  fn: () => unknown;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => unknown;

/** Options of one circuit breaker. Every option is optional; defaults are in the README and below. */
export interface CircuitBreakerOptions {
  /**
   * With no `window`: this many consecutive failures open the circuit. With a `window`: this many
   * failures inside the window (only when given explicitly for the breaker).
   * @default 5 (without a window)
   */
  failureThreshold?: number;
  /** a count or time window for rate rules; see {@link WindowOptions} */
  window?: WindowOptions;
  /** percent in (0, 100]; needs a `window`; opens when failures / calls × 100 >= this */
  failureRateThreshold?: number;
  /** calls the window must hold before a rate rule can open it @default 10 */
  minimumCalls?: number;
  /** a call slower than this (ms) is slow */
  slowCallDurationMs?: number;
  /** percent in (0, 100]; needs a `window` and `slowCallDurationMs` */
  slowCallRateThreshold?: number;
  /** how long OPEN lasts before probes are admitted, in ms @default 60000 */
  resetTimeoutMs?: number;
  /** grow the open time on repeated reopens */
  backoff?: BackoffOptions;
  /** probes admitted at once in HALF_OPEN @default 1 */
  halfOpenMaxCalls?: number;
  /** probe successes that close the circuit @default 1 */
  successThreshold?: number;
  /** longest stay in HALF_OPEN without a probe settling, in ms @default 30000 */
  halfOpenTimeoutMs?: number;
  /** a call not settled by then rejects with `CallTimeoutError` and counts as a failure */
  callTimeoutMs?: number;
  /** `false` = the error passes through but is ignored (neither success nor failure) */
  isFailure?: (error: unknown) => boolean;
  /** error classes that are ignored */
  ignore?: readonly ErrorClass[];
  /** a returned value that counts as a failure; the value is still returned */
  isFailureResult?: (value: unknown) => boolean;
  /** called with the error and the call's arguments instead of rethrowing */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fallback?: (error: unknown, ...args: any[]) => unknown;
  /** monotonic time source in ms @default performance.now() */
  clock?: Clock;
  /** an active background check while OPEN */
  probe?: ProbeOptions;
}

/** Options with every default applied, as the engine reads them. */
export interface ResolvedOptions {
  readonly failureThreshold: number;
  /** the failure count that opens the circuit: consecutive (no window) or in-window; null = no count rule */
  readonly countRule: number | null;
  readonly window: Readonly<Required<TimeWindowOptions>> | Readonly<CountWindowOptions> | null;
  readonly failureRateThreshold: number | null;
  readonly minimumCalls: number;
  readonly slowCallDurationMs: number | null;
  readonly slowCallRateThreshold: number | null;
  readonly resetTimeoutMs: number;
  readonly backoff: Readonly<Required<BackoffOptions>> | null;
  readonly halfOpenMaxCalls: number;
  readonly successThreshold: number;
  readonly halfOpenTimeoutMs: number;
  readonly callTimeoutMs: number | null;
  readonly isFailure: ((error: unknown) => boolean) | null;
  readonly ignore: readonly ErrorClass[];
  readonly isFailureResult: ((value: unknown) => boolean) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly fallback: ((error: unknown, ...args: any[]) => unknown) | null;
  readonly clock: Clock;
  readonly probe: Readonly<ProbeOptions> | null;
}

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_MINIMUM_CALLS = 10;
export const DEFAULT_RESET_TIMEOUT_MS = 60_000;
export const DEFAULT_HALF_OPEN_MAX_CALLS = 1;
export const DEFAULT_SUCCESS_THRESHOLD = 1;
export const DEFAULT_HALF_OPEN_TIMEOUT_MS = 30_000;
export const DEFAULT_TIME_WINDOW_BUCKETS = 10;
/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

export const CIRCUIT_BREAKER_OPTION_KEYS: readonly (keyof CircuitBreakerOptions)[] = [
  'failureThreshold',
  'window',
  'failureRateThreshold',
  'minimumCalls',
  'slowCallDurationMs',
  'slowCallRateThreshold',
  'resetTimeoutMs',
  'backoff',
  'halfOpenMaxCalls',
  'successThreshold',
  'halfOpenTimeoutMs',
  'callTimeoutMs',
  'isFailure',
  'ignore',
  'isFailureResult',
  'fallback',
  'clock',
  'probe',
];
const OPTION_KEYS = new Set<string>(CIRCUIT_BREAKER_OPTION_KEYS);

const DEFAULT_RESOLVED: ResolvedOptions = Object.freeze({
  failureThreshold: DEFAULT_FAILURE_THRESHOLD,
  countRule: DEFAULT_FAILURE_THRESHOLD,
  window: null,
  failureRateThreshold: null,
  minimumCalls: DEFAULT_MINIMUM_CALLS,
  slowCallDurationMs: null,
  slowCallRateThreshold: null,
  resetTimeoutMs: DEFAULT_RESET_TIMEOUT_MS,
  backoff: null,
  halfOpenMaxCalls: DEFAULT_HALF_OPEN_MAX_CALLS,
  successThreshold: DEFAULT_SUCCESS_THRESHOLD,
  halfOpenTimeoutMs: DEFAULT_HALF_OPEN_TIMEOUT_MS,
  callTimeoutMs: null,
  isFailure: null,
  ignore: Object.freeze([]) as readonly ErrorClass[],
  isFailureResult: null,
  fallback: null,
  clock: monotonicClock,
  probe: null,
});

type Check = (value: unknown) => boolean;
const isInt = (min: number): Check => (v) => typeof v === 'number' && Number.isInteger(v) && v >= min;
const isPercent: Check = (v) => typeof v === 'number' && v > 0 && v <= 100;
const isNonNegativeMs: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPositiveMs: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const isTimerMs: Check = (v) => isPositiveMs(v) && (v as number) <= MAX_TIMER_MS;
const isFunction: Check = (v) => typeof v === 'function';

/**
 * Checks an options object and returns every problem found (empty when valid). `path` prefixes each
 * problem's path, e.g. `breakers.payments`.
 */
export function validateCircuitBreakerOptions(options: unknown, path = ''): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (key: string) => (path ? `${path}.${key}` : key);
  if (options === undefined) return problems;
  if (!isRecord(options)) {
    problems.push({ path: path || 'options', expected: 'expected an options object', value: options });
    return problems;
  }
  const check = (key: string, ok: Check, expected: string) => {
    const value = options[key];
    if (value !== undefined && !ok(value)) problems.push({ path: at(key), expected, value });
  };
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      problems.push({ path: at(key), expected: `unknown option (known: ${CIRCUIT_BREAKER_OPTION_KEYS.join(', ')})`, value: options[key] });
    }
  }
  check('failureThreshold', isInt(1), 'expected an integer >= 1');
  check('failureRateThreshold', isPercent, 'expected a percentage in (0, 100]');
  check('minimumCalls', isInt(1), 'expected an integer >= 1');
  check('slowCallDurationMs', isPositiveMs, 'expected a duration in ms > 0');
  check('slowCallRateThreshold', isPercent, 'expected a percentage in (0, 100]');
  check('resetTimeoutMs', isNonNegativeMs, 'expected a duration in ms >= 0');
  check('halfOpenMaxCalls', isInt(1), 'expected an integer >= 1');
  check('successThreshold', isInt(1), 'expected an integer >= 1');
  check('halfOpenTimeoutMs', isPositiveMs, 'expected a duration in ms > 0');
  check('callTimeoutMs', isTimerMs, `expected a duration in ms in (0, ${MAX_TIMER_MS}]`);
  check('isFailure', isFunction, 'expected a function (error) => boolean');
  check('isFailureResult', isFunction, 'expected a function (value) => boolean');
  check('fallback', isFunction, 'expected a function (error, ...args) => value');
  check('clock', (v) => isRecord(v) && typeof v.now === 'function', 'expected an object with a now() method');

  const ignore = options.ignore;
  if (ignore !== undefined) {
    if (!Array.isArray(ignore)) problems.push({ path: at('ignore'), expected: 'expected an array of error classes', value: ignore });
    else ignore.forEach((c, i) => {
      if (typeof c !== 'function') problems.push({ path: at(`ignore[${i}]`), expected: 'expected an error class', value: c });
    });
  }

  const window = options.window;
  if (window !== undefined) {
    if (!isRecord(window) || (window.type !== 'count' && window.type !== 'time')) {
      problems.push({ path: at('window'), expected: "expected { type: 'count', size } or { type: 'time', durationMs }", value: window });
    } else {
      const allowed = window.type === 'count' ? ['type', 'size'] : ['type', 'durationMs', 'buckets'];
      for (const key of Object.keys(window)) {
        if (!allowed.includes(key)) problems.push({ path: at(`window.${key}`), expected: `unknown option (known: ${allowed.join(', ')})`, value: window[key] });
      }
      if (window.type === 'count' && !isInt(1)(window.size)) {
        problems.push({ path: at('window.size'), expected: 'expected an integer >= 1', value: window.size });
      }
      if (window.type === 'time') {
        if (!isPositiveMs(window.durationMs)) problems.push({ path: at('window.durationMs'), expected: 'expected a duration in ms > 0', value: window.durationMs });
        if (window.buckets !== undefined && !(isInt(1)(window.buckets) && (window.buckets as number) <= 1000)) {
          problems.push({ path: at('window.buckets'), expected: 'expected an integer in [1, 1000]', value: window.buckets });
        }
      }
    }
    if (options.failureThreshold === undefined && options.failureRateThreshold === undefined && options.slowCallRateThreshold === undefined) {
      problems.push({
        path: at('window'),
        expected: 'a window needs at least one rule: failureThreshold, failureRateThreshold or slowCallRateThreshold',
        value: window,
      });
    }
  } else {
    if (options.failureRateThreshold !== undefined) {
      problems.push({ path: at('failureRateThreshold'), expected: 'needs a window (count or time)', value: options.failureRateThreshold });
    }
    if (options.slowCallRateThreshold !== undefined) {
      problems.push({ path: at('slowCallRateThreshold'), expected: 'needs a window (count or time)', value: options.slowCallRateThreshold });
    }
  }
  if (options.slowCallRateThreshold !== undefined && options.slowCallDurationMs === undefined) {
    problems.push({ path: at('slowCallRateThreshold'), expected: 'needs slowCallDurationMs', value: options.slowCallRateThreshold });
  }

  const backoff = options.backoff;
  if (backoff !== undefined) {
    if (!isRecord(backoff)) {
      problems.push({ path: at('backoff'), expected: 'expected { multiplier, maxMs, jitter? }', value: backoff });
    } else {
      for (const key of Object.keys(backoff)) {
        if (!['multiplier', 'maxMs', 'jitter'].includes(key)) problems.push({ path: at(`backoff.${key}`), expected: 'unknown option (known: multiplier, maxMs, jitter)', value: backoff[key] });
      }
      if (!(typeof backoff.multiplier === 'number' && Number.isFinite(backoff.multiplier) && backoff.multiplier >= 1)) {
        problems.push({ path: at('backoff.multiplier'), expected: 'expected a number >= 1', value: backoff.multiplier });
      }
      if (!isPositiveMs(backoff.maxMs)) problems.push({ path: at('backoff.maxMs'), expected: 'expected a duration in ms > 0', value: backoff.maxMs });
      if (backoff.jitter !== undefined && !(typeof backoff.jitter === 'number' && backoff.jitter >= 0 && backoff.jitter <= 1)) {
        problems.push({ path: at('backoff.jitter'), expected: 'expected a fraction in [0, 1]', value: backoff.jitter });
      }
    }
  }

  const probe = options.probe;
  if (probe !== undefined) {
    if (!isRecord(probe)) {
      problems.push({ path: at('probe'), expected: 'expected { intervalMs, fn }', value: probe });
    } else {
      for (const key of Object.keys(probe)) {
        if (key !== 'intervalMs' && key !== 'fn') problems.push({ path: at(`probe.${key}`), expected: 'unknown option (known: intervalMs, fn)', value: probe[key] });
      }
      if (!isTimerMs(probe.intervalMs)) problems.push({ path: at('probe.intervalMs'), expected: `expected a duration in ms in (0, ${MAX_TIMER_MS}]`, value: probe.intervalMs });
      if (typeof probe.fn !== 'function') problems.push({ path: at('probe.fn'), expected: 'expected a function () => unknown', value: probe.fn });
    }
  }
  return problems;
}

/**
 * Resolved options by the object they came from: a registry, or an app creating breakers from one
 * options object, validates and resolves it once (creation stays cheap for thousands of breakers).
 * An options object is read once: changing it later does not change breakers created from it.
 */
const resolvedByObject = new WeakMap<object, ResolvedOptions>();

/**
 * Validates and applies defaults, once per options object. Throws `CircuitBreakerConfigError` listing
 * every problem.
 */
export function resolveOptions(options?: CircuitBreakerOptions): ResolvedOptions {
  if (options === undefined) return DEFAULT_RESOLVED;
  if (typeof options === 'object' && options !== null) {
    const known = resolvedByObject.get(options);
    if (known !== undefined) return known;
  }
  const resolved = resolveFresh(options);
  if (typeof options === 'object' && options !== null) resolvedByObject.set(options, resolved);
  return resolved;
}

function resolveFresh(options: CircuitBreakerOptions): ResolvedOptions {
  if (isRecord(options) && Object.keys(options).length === 0) return DEFAULT_RESOLVED;
  const problems = validateCircuitBreakerOptions(options);
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  const o: CircuitBreakerOptions = options;
  const window = o.window === undefined ? null
    : o.window.type === 'count' ? Object.freeze({ type: 'count' as const, size: o.window.size })
    : Object.freeze({ type: 'time' as const, durationMs: o.window.durationMs, buckets: o.window.buckets ?? DEFAULT_TIME_WINDOW_BUCKETS });
  const failureThreshold = o.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
  return Object.freeze({
    failureThreshold,
    countRule: window === null ? failureThreshold : (o.failureThreshold ?? null),
    window,
    failureRateThreshold: o.failureRateThreshold ?? null,
    // A count window never holds more than `size` calls: a larger minimum would silence its rate rules.
    minimumCalls: Math.min(o.minimumCalls ?? DEFAULT_MINIMUM_CALLS, window?.type === 'count' ? window.size : Infinity),
    slowCallDurationMs: o.slowCallDurationMs ?? null,
    slowCallRateThreshold: o.slowCallRateThreshold ?? null,
    resetTimeoutMs: o.resetTimeoutMs ?? DEFAULT_RESET_TIMEOUT_MS,
    backoff: o.backoff === undefined ? null : Object.freeze({ multiplier: o.backoff.multiplier, maxMs: o.backoff.maxMs, jitter: o.backoff.jitter ?? 0 }),
    halfOpenMaxCalls: o.halfOpenMaxCalls ?? DEFAULT_HALF_OPEN_MAX_CALLS,
    successThreshold: o.successThreshold ?? DEFAULT_SUCCESS_THRESHOLD,
    halfOpenTimeoutMs: o.halfOpenTimeoutMs ?? DEFAULT_HALF_OPEN_TIMEOUT_MS,
    callTimeoutMs: o.callTimeoutMs ?? null,
    isFailure: o.isFailure ?? null,
    ignore: Object.freeze([...(o.ignore ?? [])]),
    isFailureResult: o.isFailureResult ?? null,
    fallback: o.fallback ?? null,
    clock: o.clock ?? monotonicClock,
    probe: o.probe === undefined ? null : Object.freeze({ intervalMs: o.probe.intervalMs, fn: o.probe.fn }),
  });
}
