import type { CircuitState } from './circuit-state.js';

/** Base class of every error this library throws. */
export class CircuitBreakerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Thrown (or rejected with) when a breaker does not admit a call: it is `open`, `forced_open`, or
 * `half_open` with every probe slot taken.
 *
 * Rejections are what all traffic gets during an outage, so the breaker builds these without
 * capturing a stack trace (a capture costs microseconds per call and would point into the breaker,
 * not at the caller's problem). `stack` holds the one-line header only.
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

  /** Builds the error without paying for a stack trace. */
  static withoutStack(breakerName: string, state: CircuitState, retryAfterMs: number): CircuitBreakerOpenError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new CircuitBreakerOpenError(breakerName, state, retryAfterMs);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

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

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(configErrorMessage(problems));
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
    const json = JSON.stringify(value);
    return json.length > 200 ? `${json.slice(0, 200)}…` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function configErrorMessage(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.path}: ${p.expected}, received ${describeValue(p.value)}`);
  return `Invalid circuit breaker configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
