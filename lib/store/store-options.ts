import { CircuitBreakerConfigError, type ConfigProblem, safeOptionValue } from '../core/index.js';
import type { StoreLogger } from './store.interface.js';
import { STORE_EXPECTED } from './store.messages.js';

const SHARED_OPTION_KEYS = ['timeoutMs', 'startupTimeoutMs', 'heartbeatMs', 'closeTimeoutMs', 'logger'] as const;

/**
 * Checks a store's options: the shared ones (`timeoutMs`, `startupTimeoutMs`, `heartbeatMs`, `closeTimeoutMs`, `logger`) and the
 * store's own, and throws one `CircuitBreakerConfigError` listing every problem. Returns the options.
 */
export function checkStoreOptions<O extends object>(
  options: unknown,
  ownKeys: readonly string[],
  ownProblems: (options: Record<string, unknown>) => ConfigProblem[],
): O {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CircuitBreakerConfigError([{ path: 'options', expected: STORE_EXPECTED.options, value: options }]);
  }
  const o = options as Record<string, unknown>;
  const known = [...ownKeys, ...SHARED_OPTION_KEYS];
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) problems.push({ path: key, expected: STORE_EXPECTED.unknownKey(known), value: safeOptionValue(o[key]) });
  }
  if (o.timeoutMs !== undefined && !(typeof o.timeoutMs === 'number' && Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) {
    problems.push({ path: 'timeoutMs', expected: STORE_EXPECTED.timeoutMs, value: o.timeoutMs });
  }
  if (o.startupTimeoutMs !== undefined && !(typeof o.startupTimeoutMs === 'number' && Number.isFinite(o.startupTimeoutMs) && o.startupTimeoutMs >= 0)) {
    problems.push({ path: 'startupTimeoutMs', expected: STORE_EXPECTED.startupTimeoutMs, value: o.startupTimeoutMs });
  }
  for (const key of ['heartbeatMs', 'closeTimeoutMs'] as const) {
    const v = o[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) problems.push({ path: key, expected: STORE_EXPECTED[key], value: v });
  }
  const logger = o.logger as Partial<StoreLogger> | undefined;
  if (logger !== undefined && (logger === null || typeof logger.log !== 'function' || typeof logger.warn !== 'function')) {
    problems.push({ path: 'logger', expected: STORE_EXPECTED.logger, value: o.logger });
  }
  problems.push(...ownProblems(o));
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  return options as O;
}
