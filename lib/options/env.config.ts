import { CircuitBreakerConfigError, type CircuitBreakerOptions, type ConfigProblem } from '../core/index.js';
import type { CircuitBreakerConfigEntry, CircuitBreakerModuleOptions } from './module-options.interface.js';
import { ENV_EXPECTED } from './options.messages.js';

const PREFIX = 'CIRCUIT_BREAKER_';
const BREAKER_PREFIX = 'CIRCUIT_BREAKER__';

type Parse = (raw: string) => number | undefined;

/** A setting that exists both globally (`CIRCUIT_BREAKER_<SETTING>`) and per breaker. */
interface Setting {
  option: keyof CircuitBreakerOptions;
  parse: Parse;
  expected: string;
}

// Safe integers only: '9'.repeat(400) would otherwise become Infinity, rejected later without the variable's name.
const positiveInteger: Parse = (raw) => (/^\d+$/.test(raw) && Number.isSafeInteger(Number(raw)) && Number(raw) >= 1 ? Number(raw) : undefined);
const seconds = (min: 'zero' | 'positive'): Parse => (raw) => {
  if (!/^\d+(\.\d+)?$/.test(raw)) return undefined;
  const ms = Number(raw) * 1000;
  return Number.isFinite(ms) && (min === 'zero' || ms > 0) ? ms : undefined;
};

const SETTINGS: Readonly<Record<string, Setting>> = {
  FAILURE_THRESHOLD: { option: 'failureThreshold', parse: positiveInteger, expected: ENV_EXPECTED.positiveInteger },
  TIMEOUT: { option: 'resetTimeoutMs', parse: seconds('zero'), expected: ENV_EXPECTED.seconds },
  RECOVERY_TIMEOUT: { option: 'resetTimeoutMs', parse: seconds('zero'), expected: ENV_EXPECTED.seconds },
  HALF_OPEN_TIMEOUT: { option: 'halfOpenTimeoutMs', parse: seconds('positive'), expected: ENV_EXPECTED.positiveSeconds },
  HALF_OPEN_CALLS: { option: 'halfOpenMaxCalls', parse: positiveInteger, expected: ENV_EXPECTED.positiveInteger },
  SUCCESS_THRESHOLD: { option: 'successThreshold', parse: positiveInteger, expected: ENV_EXPECTED.positiveInteger },
};
const SETTING_NAMES = Object.keys(SETTINGS);
/** `TIMEOUT` and `RECOVERY_TIMEOUT` set one option: given both, they must agree. */
const ALIASES: Readonly<Record<string, string>> = { RECOVERY_TIMEOUT: 'TIMEOUT' };
const GLOBAL_ONLY = ['ENABLED', 'ADMIN_TOKEN'];
const KNOWN_GLOBAL = [...GLOBAL_ONLY, ...SETTING_NAMES].map((s) => PREFIX + s);

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/**
 * Reads `CircuitBreakerModule` options from environment variables (seconds on the env side, as
 * operators write them; milliseconds in the options):
 *
 * | variable | option |
 * |---|---|
 * | `CIRCUIT_BREAKER_ENABLED` | `enabled` |
 * | `CIRCUIT_BREAKER_FAILURE_THRESHOLD` | `defaults.failureThreshold` |
 * | `CIRCUIT_BREAKER_TIMEOUT` (alias `CIRCUIT_BREAKER_RECOVERY_TIMEOUT`) | `defaults.resetTimeoutMs` (× 1000) |
 * | `CIRCUIT_BREAKER_HALF_OPEN_TIMEOUT` | `defaults.halfOpenTimeoutMs` (× 1000) |
 * | `CIRCUIT_BREAKER_HALF_OPEN_CALLS` | `defaults.halfOpenMaxCalls` |
 * | `CIRCUIT_BREAKER_SUCCESS_THRESHOLD` | `defaults.successThreshold` |
 * | `CIRCUIT_BREAKER__<NAME>__<SETTING>` | the same settings for one breaker (`breakers.<NAME>`) |
 * | `CIRCUIT_BREAKER_ADMIN_TOKEN` | `management.token` |
 *
 * Only what is set appears in the result; an empty value counts as unset. A malformed value or an
 * unknown `CIRCUIT_BREAKER_*` variable throws `CircuitBreakerConfigError` naming the variable, the
 * value and what is expected.
 *
 * @example
 * CircuitBreakerModule.forRoot(circuitBreakerConfigFromEnv())
 */
export function circuitBreakerConfigFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): CircuitBreakerModuleOptions {
  const problems: ConfigProblem[] = [];
  const result: CircuitBreakerModuleOptions = {};
  const defaults: CircuitBreakerOptions = {};
  // No prototype: `CIRCUIT_BREAKER____proto____FAILURE_THRESHOLD` must not write to Object.prototype.
  const breakers: Record<string, CircuitBreakerConfigEntry> = Object.create(null);
  /** which variable set each option, to report two aliases that disagree */
  const setBy = new Map<object, Map<string, string>>();

  const apply = (target: CircuitBreakerOptions, variable: string, settingName: string, raw: string) => {
    const setting = SETTINGS[settingName]!;
    const value = setting.parse(raw);
    if (value === undefined) {
      problems.push({ path: variable, expected: setting.expected, value: raw });
      return;
    }
    const seen = setBy.get(target) ?? new Map<string, string>();
    setBy.set(target, seen);
    const earlier = seen.get(setting.option);
    if (earlier !== undefined && target[setting.option] !== value) {
      const [alias, main] = ALIASES[settingName] !== undefined ? [variable, earlier] : [earlier, variable];
      problems.push({ path: alias, expected: ENV_EXPECTED.aliasConflict(main, env[main]!), value: env[alias] });
      return;
    }
    seen.set(setting.option, variable);
    (target as Record<string, unknown>)[setting.option] = value;
  };

  // Sorted: the result (and the order of problems) does not depend on the environment's order.
  for (const variable of Object.keys(env).filter((v) => v.startsWith(PREFIX)).sort()) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    if (variable.startsWith(BREAKER_PREFIX)) {
      const rest = variable.slice(BREAKER_PREFIX.length);
      const split = rest.lastIndexOf('__');
      const name = split > 0 ? rest.slice(0, split) : '';
      const settingName = split > 0 ? rest.slice(split + 2) : rest;
      if (name === '') problems.push({ path: variable, expected: ENV_EXPECTED.breakerName, value: raw });
      else if (!Object.hasOwn(SETTINGS, settingName)) problems.push({ path: variable, expected: ENV_EXPECTED.unknownSetting(SETTING_NAMES), value: raw });
      else apply((breakers[name] ??= {}), variable, settingName, raw);
      continue;
    }
    const settingName = variable.slice(PREFIX.length);
    if (settingName === 'ENABLED') {
      const lower = raw.toLowerCase();
      if (TRUE.has(lower)) result.enabled = true;
      else if (FALSE.has(lower)) result.enabled = false;
      else problems.push({ path: variable, expected: ENV_EXPECTED.boolean, value: raw });
    } else if (settingName === 'ADMIN_TOKEN') {
      result.management = { token: raw };
    } else if (Object.hasOwn(SETTINGS, settingName)) {
      apply(defaults, variable, settingName, raw);
    } else {
      problems.push({ path: variable, expected: ENV_EXPECTED.unknownVariable(KNOWN_GLOBAL), value: raw });
    }
  }
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  if (Object.keys(defaults).length > 0) result.defaults = defaults;
  if (Object.keys(breakers).length > 0) {
    for (const entry of Object.values(breakers)) ENVIRONMENT_ENTRIES.add(entry);
    result.breakers = { ...breakers };
  }
  return result;
}

/**
 * The `breakers` entries read from `CIRCUIT_BREAKER__<NAME>__*`. They configure the breaker whose
 * name they match (case-insensitively, `.` `-` `:` read as `_`) and create none of their own.
 */
const ENVIRONMENT_ENTRIES = new WeakSet<object>();

/** Whether `entry` of `breakers` came from the environment (see {@link circuitBreakerConfigFromEnv}). */
export function isEnvironmentEntry(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && ENVIRONMENT_ENTRIES.has(entry);
}
