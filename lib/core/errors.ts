import type { CircuitState } from './circuit-state.js';
import { isSecretValue, looksSecret, REDACTED } from './secrets.js';

/** Base class of every error this library throws. */
export class CircuitBreakerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Marks every `CircuitBreakerOpenError`. A registered symbol, so one process that loads both the ESM
 * and the CommonJS build of this package (two `CircuitBreakerOpenError` classes) sees one brand.
 */
const OPEN_ERROR_BRAND = Symbol.for('nestjs-circuit-breaker.open-error');
/** Marks every `CallTimeoutError`, in the same way. */
const TIMEOUT_ERROR_BRAND = Symbol.for('nestjs-circuit-breaker.call-timeout-error');

/**
 * `instanceof` of a branded class: the brand for the class itself (so that an error of the other build
 * is an instance, and Nest's `@Catch(CircuitBreakerOpenError)` matches it), the prototype chain for a
 * subclass.
 */
function branded(cls: Function, brand: symbol, value: unknown, self: Function): boolean {
  if (self !== cls) return Function.prototype[Symbol.hasInstance].call(self, value);
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/**
 * Brands an error class of this package: its prototype carries `brand` (a `Symbol.for` symbol), and
 * `instanceof` the class checks the brand, so that the ESM and the CommonJS build recognise each
 * other's errors (Nest's `@Catch(…)` matches by `instanceof`).
 */
export function brandErrorClass(cls: Function, brand: symbol): void {
  Object.defineProperty(cls.prototype, brand, { value: true, writable: false, configurable: false, enumerable: false });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: Function, value: unknown): boolean {
      return branded(cls, brand, value, this);
    },
    configurable: true,
  });
}

/**
 * Thrown (or rejected with) when a breaker does not admit a call: it is `open`, `forced_open`, or
 * `half_open` with every probe slot taken.
 *
 * Rejections are what all traffic gets during an outage, so the breaker builds these without
 * capturing a stack trace (a capture costs microseconds per call and would point into the breaker,
 * not at the caller's problem): `stack` is the one-line header, `message` is derived from the fields.
 */
export class CircuitBreakerOpenError extends CircuitBreakerError {
  readonly code = 'CIRCUIT_OPEN' as const;

  constructor(
    /** The breaker that rejected the call. */
    readonly breakerName: string,
    /** The state it was in: `open`, `half_open` or `forced_open`. */
    readonly state: CircuitState,
    /** Milliseconds until the breaker will admit a call again (a hint; see the README). */
    readonly retryAfterMs: number,
  ) {
    super(openErrorMessage(breakerName, state));
  }

  /**
   * Builds the error without running the `Error` constructor: no stack capture, no message string
   * until someone reads it (about 10 ns instead of 0.5–4 µs). `instanceof` works as usual.
   */
  static withoutStack(breakerName: string, state: CircuitState, retryAfterMs: number): CircuitBreakerOpenError {
    const error = Object.create(CircuitBreakerOpenError.prototype) as { -readonly [K in keyof CircuitBreakerOpenError]: CircuitBreakerOpenError[K] };
    error.code = 'CIRCUIT_OPEN';
    error.breakerName = breakerName;
    error.state = state;
    error.retryAfterMs = retryAfterMs;
    return error;
  }
}

/**
 * Whether `error` is a `CircuitBreakerOpenError` from any copy of this package: the ESM or the
 * CommonJS build, or another installed version. `instanceof CircuitBreakerOpenError` does the same (the class checks the brand).
 */
export function isCircuitBreakerOpenError(error: unknown): error is CircuitBreakerOpenError {
  return branded(CircuitBreakerOpenError, OPEN_ERROR_BRAND, error, CircuitBreakerOpenError);
}

/** An own, non-enumerable data property, as `Error` makes them (for code that assigns `message` or `stack`). */
function defineOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

// Errors built by `withoutStack` have no own `name`, `message` or `stack`: the prototype derives them.
// The brand is on the prototype too, so it costs nothing per error and both ways of building carry it.
// Errors built with `new` get their own from the Error constructor, which shadow these.
brandErrorClass(CircuitBreakerOpenError, OPEN_ERROR_BRAND);
Object.defineProperties(CircuitBreakerOpenError.prototype, {
  name: { value: 'CircuitBreakerOpenError', writable: true, configurable: true },
  message: {
    configurable: true,
    get(this: CircuitBreakerOpenError) {
      return openErrorMessage(this.breakerName, this.state);
    },
    set(this: CircuitBreakerOpenError, value: unknown) {
      defineOwn(this, 'message', value);
    },
  },
  stack: {
    configurable: true,
    get(this: CircuitBreakerOpenError) {
      return `${this.name}: ${this.message}`;
    },
    set(this: CircuitBreakerOpenError, value: unknown) {
      defineOwn(this, 'stack', value);
    },
  },
});

function openErrorMessage(name: string, state: CircuitState): string {
  switch (state) {
    case 'half_open':
      return `Circuit breaker '${name}' is half-open and its probe slots are taken`;
    case 'forced_open':
      return `Circuit breaker '${name}' is forced open`;
    default:
      return `Circuit breaker '${name}' is open`;
  }
}

/** A call that did not settle within `callTimeoutMs`. It counts as a failure. */
export class CallTimeoutError extends CircuitBreakerError {
  readonly code = 'CALL_TIMEOUT' as const;

  constructor(
    readonly breakerName: string,
    readonly timeoutMs: number,
  ) {
    super(`Call through circuit breaker '${breakerName}' timed out after ${timeoutMs} ms`);
  }

}

brandErrorClass(CallTimeoutError, TIMEOUT_ERROR_BRAND);

/** One problem found in a configuration: where, what was expected, what was received. */
export interface ConfigProblem {
  /** e.g. `failureThreshold`, `breakers.payments.window.size`, `CIRCUIT_BREAKER_TIMEOUT` */
  path: string;
  /** what was expected, e.g. `expected an integer >= 1` */
  expected: string;
  /** the value received */
  value: unknown;
}

/** Invalid options. The message lists every problem with its path and the value received. */
export class CircuitBreakerConfigError extends CircuitBreakerError {
  readonly code = 'CONFIG_INVALID' as const;

  /** What is wrong, one entry per problem; a value under a secret-looking name is `<redacted>`. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    // A variable such as CIRCUIT_BREAKER_ADMIN_TOKN=<secret> is named, never quoted.
    const safe = problems.map((p) => (typeof p.path === 'string' && isSecretValue(p.path, p.value) ? { ...p, value: REDACTED } : p));
    super(configErrorMessage(safe));
    this.problems = safe;
  }
}

/** Renders a value for an error message: strings quoted, functions and objects described briefly. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value === undefined || value === null || typeof value !== 'object') return String(value);
  try {
    const json = JSON.stringify(value, (key, v: unknown) => (key !== '' && looksSecret(key) ? REDACTED : v));
    return json.length > 200 ? `${json.slice(0, 200)}…` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function configErrorMessage(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.path}: ${p.expected}, received ${describeValue(p.value)}`);
  return `Invalid circuit breaker configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
