import {
  CircuitBreakerConfigError,
  type CircuitBreakerOptions,
  type ConfigProblem,
  isRecord,
  safeOptionValue,
  validateCircuitBreakerOptions,
} from '../core/index.js';
import type { CircuitBreakerStore } from '../store/index.js';
import { BREAKER_NAME_PATTERN, DEFAULT_MANAGEMENT_PATH, RESERVED_BREAKER_NAMES } from '../constants.js';
import type {
  CircuitBreakerConfigEntry,
  CircuitBreakerManagementOptions,
  CircuitBreakerModuleOptions,
  ResolvedCircuitBreakerModuleOptions,
  ResolvedManagementOptions,
} from './module-options.interface.js';
import { MODULE_EXPECTED } from './options.messages.js';
import { eventStreamLimitProblems } from '../management/event-stream-clients.js';
import { isEnvironmentEntry } from './env.config.js';

/** The keys of `CircuitBreakerModuleOptions` (a later integration appends its own, e.g. `store`). */
export const MODULE_OPTION_KEYS: readonly (keyof CircuitBreakerModuleOptions)[] = [
  'enabled',
  'defaults',
  'breakers',
  'configs',
  'strict',
  'management',
  'store',
  'maxBreakers',
];
const MANAGEMENT_KEYS: readonly (keyof CircuitBreakerManagementOptions)[] = ['enabled', 'path', 'token', 'guards', 'events'];


/**
 * Cross-field rules of the engine (a window needs a rule, a rate rule needs a window…) concern the
 * merged options of a breaker, not one layer: each key of a layer is checked beside values that
 * satisfy those rules, and only the problems of that key are kept.
 */
const COMPANIONS: Partial<Record<string, CircuitBreakerOptions>> = {
  window: { failureThreshold: 1 },
  failureRateThreshold: { window: { type: 'count', size: 1 } },
  slowCallRateThreshold: { window: { type: 'count', size: 1 }, slowCallDurationMs: 1 },
};

/**
 * Checks one layer of breaker options (defaults, a config, a breaker entry, a decorator's options)
 * key by key: types and ranges, unknown keys. Rules that tie keys together are checked on the merged
 * options when the breaker is created.
 */
export function validateOptionLayer(layer: unknown, path: string): ConfigProblem[] {
  if (layer === undefined) return [];
  if (!isRecord(layer)) return [{ path, expected: MODULE_EXPECTED.entry, value: layer }];
  const problems: ConfigProblem[] = [];
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const at = `${path}.${key}`;
    const own = (p: ConfigProblem) => p.path === at || p.path.startsWith(`${at}.`) || p.path.startsWith(`${at}[`);
    problems.push(...validateCircuitBreakerOptions({ ...COMPANIONS[key], [key]: value }, path).filter(own));
  }
  return problems;
}

/** The form in which environment variables spell a breaker name: upper case, `-` `.` `:` read as `_`. */
export function normalizeBreakerName(name: string): string {
  return name.toUpperCase().replace(/[-.:]/g, '_');
}

/** The keys of `breakers` that apply to `name`: the name itself, or its normalized spelling. */
export function matchingBreakerKeys(breakers: Readonly<Record<string, unknown>>, name: string): string[] {
  const normalized = normalizeBreakerName(name);
  return Object.keys(breakers).filter((key) => key === name || normalizeBreakerName(key) === normalized);
}

/** Problems of a breaker name for a registry (pattern, reserved names); `path` locates it. */
export function breakerNameProblems(name: unknown, path: string): ConfigProblem[] {
  if (typeof name !== 'string' || !BREAKER_NAME_PATTERN.test(name)) {
    return [{ path, expected: MODULE_EXPECTED.breakerName(BREAKER_NAME_PATTERN), value: name }];
  }
  // Any case: Express matches routes case-insensitively, so `GET …/Dashboard` is the dashboard page.
  if (RESERVED_BREAKER_NAMES.includes(name.toLowerCase())) return [{ path, expected: MODULE_EXPECTED.reservedName(RESERVED_BREAKER_NAMES), value: name }];
  return [];
}

/** `management.path` without surrounding slashes, or undefined when it is not a non-empty path. */
export function cleanManagementPath(path: unknown): string | undefined {
  const clean = typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : '';
  return clean === '' ? undefined : clean;
}

function resolveManagement(value: unknown, problems: ConfigProblem[]): ResolvedManagementOptions | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) {
    problems.push({ path: 'management', expected: MODULE_EXPECTED.entry, value });
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!(MANAGEMENT_KEYS as readonly string[]).includes(key)) {
      problems.push({ path: `management.${key}`, expected: MODULE_EXPECTED.unknownKey(MANAGEMENT_KEYS), value: value[key] });
    }
  }
  const { enabled, path, token, guards, events } = value;
  if (enabled !== undefined && typeof enabled !== 'boolean') problems.push({ path: 'management.enabled', expected: MODULE_EXPECTED.boolean, value: enabled });
  const cleanPath = cleanManagementPath(path);
  if (path !== undefined && cleanPath === undefined) {
    problems.push({ path: 'management.path', expected: MODULE_EXPECTED.managementPath, value: path });
  }
  if (token !== undefined && (typeof token !== 'string' || token === '')) problems.push({ path: 'management.token', expected: MODULE_EXPECTED.token, value: token });
  if (guards !== undefined) {
    if (!Array.isArray(guards)) problems.push({ path: 'management.guards', expected: MODULE_EXPECTED.guards, value: guards });
    else guards.forEach((guard, i) => {
      const ok = typeof guard === 'function' || (isRecord(guard) && typeof guard.canActivate === 'function');
      if (!ok) problems.push({ path: `management.guards[${i}]`, expected: MODULE_EXPECTED.guard, value: guard });
    });
  }
  problems.push(...eventStreamLimitProblems(events, 'management.events'));
  return Object.freeze({
    enabled: enabled === true,
    path: cleanPath ?? DEFAULT_MANAGEMENT_PATH,
    token: typeof token === 'string' && token !== '' ? token : undefined,
    guards: Object.freeze(Array.isArray(guards) ? [...guards] : []),
    events: isRecord(events) ? Object.freeze({ maxClients: events.maxClients, maxBufferedBytes: events.maxBufferedBytes }) as ResolvedManagementOptions['events'] : undefined,
  });
}

/**
 * Validates module options and applies their defaults. Throws `CircuitBreakerConfigError` listing
 * every problem (each with its path, e.g. `breakers.payments.failureThreshold`).
 */
export function resolveModuleOptions(options: CircuitBreakerModuleOptions | undefined): ResolvedCircuitBreakerModuleOptions {
  const raw: unknown = options ?? {};
  const problems: ConfigProblem[] = [];
  if (!isRecord(raw)) throw new CircuitBreakerConfigError([{ path: 'options', expected: MODULE_EXPECTED.options, value: raw }]);
  for (const key of Object.keys(raw)) {
    if (!(MODULE_OPTION_KEYS as readonly string[]).includes(key)) {
      problems.push({ path: key, expected: MODULE_EXPECTED.unknownKey(MODULE_OPTION_KEYS), value: raw[key] });
    }
  }
  const { enabled, strict, defaults, configs, breakers } = raw;
  if (enabled !== undefined && typeof enabled !== 'boolean') problems.push({ path: 'enabled', expected: MODULE_EXPECTED.boolean, value: enabled });
  if (strict !== undefined && typeof strict !== 'boolean') problems.push({ path: 'strict', expected: MODULE_EXPECTED.boolean, value: strict });

  // Defaults must be valid on their own: a breaker with no other options gets exactly them.
  problems.push(...validateCircuitBreakerOptions(defaults, 'defaults'));

  if (configs !== undefined && !isRecord(configs)) problems.push({ path: 'configs', expected: MODULE_EXPECTED.record('option sets'), value: configs });
  const configNames = isRecord(configs) ? Object.keys(configs) : [];
  for (const name of configNames) problems.push(...validateOptionLayer((configs as Record<string, unknown>)[name], `configs.${name}`));

  if (breakers !== undefined && !isRecord(breakers)) problems.push({ path: 'breakers', expected: MODULE_EXPECTED.record('breaker options'), value: breakers });
  if (isRecord(breakers)) {
    for (const [name, entry] of Object.entries(breakers)) {
      const path = `breakers.${name}`;
      problems.push(...breakerNameProblems(name, path));
      if (!isRecord(entry)) {
        problems.push({ path, expected: MODULE_EXPECTED.entry, value: entry });
        continue;
      }
      const { extends: base, ...own } = entry;
      if (base !== undefined && (typeof base !== 'string' || !configNames.includes(base))) {
        problems.push({ path: `${path}.extends`, expected: MODULE_EXPECTED.extendsName(configNames), value: base });
      }
      problems.push(...validateOptionLayer(own, path));
    }
  }
  const management = resolveManagement(raw.management, problems);
  const { store } = raw;
  if (store !== undefined && !(isRecord(store) && typeof store.attach === 'function' && typeof store.close === 'function')) {
    // A misplaced client or connection options may hold a password: quoted safely.
    problems.push({ path: 'store', expected: MODULE_EXPECTED.store, value: safeOptionValue(store) });
  }
  const maxBreakers = maxBreakersOf(raw.maxBreakers, breakers, problems);
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);

  return Object.freeze({
    enabled: enabled !== false,
    defaults: Object.freeze({ ...(defaults as CircuitBreakerOptions | undefined) }),
    breakers: Object.freeze({ ...(breakers as Record<string, CircuitBreakerConfigEntry> | undefined) }),
    configs: Object.freeze({ ...(configs as Record<string, CircuitBreakerOptions> | undefined) }),
    strict: strict === true,
    management,
    store: store as CircuitBreakerStore | undefined,
    maxBreakers,
  });
}

/** `maxBreakers`, checked: an integer >= 1, and room for every breaker `breakers` creates at boot. */
function maxBreakersOf(value: unknown, breakers: unknown, problems: ConfigProblem[]): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    problems.push({ path: 'maxBreakers', expected: MODULE_EXPECTED.maxBreakers, value });
    return undefined;
  }
  // Entries from the environment configure the breaker they match and create none.
  const configured = isRecord(breakers) ? Object.values(breakers).filter((entry) => !isEnvironmentEntry(entry)).length : 0;
  if (configured > value) problems.push({ path: 'maxBreakers', expected: MODULE_EXPECTED.maxBreakersBelowConfigured(configured), value });
  return value;
}

/** Copies the defined values of `layer` onto `target`: an explicit `undefined` never erases a lower layer. */
function assignDefined(target: Record<string, unknown>, layer: object | undefined): void {
  if (layer === undefined) return;
  for (const [key, value] of Object.entries(layer)) if (value !== undefined) target[key] = value;
}

/**
 * The options of breaker `name`, by precedence (lowest first): `defaults` ← `declared` (the
 * decorator's or `getOrCreate`'s options) ← `configs[extends]` ← `breakers[name]`.
 * `defaults.failureThreshold` never reaches a windowed breaker (there it would be an in-window count
 * rule that nobody asked that breaker for). Throws `CircuitBreakerConfigError` when the result is invalid.
 */
export function breakerOptionsFor(
  options: ResolvedCircuitBreakerModuleOptions,
  name: string,
  declared?: CircuitBreakerConfigEntry,
): CircuitBreakerOptions {
  const entry: Record<string, unknown> = {};
  // Entries from the environment go last: its settings win over the same name's entry in code.
  const keys = matchingBreakerKeys(options.breakers, name);
  for (const key of [...keys.filter((k) => !isEnvironmentEntry(options.breakers[k])), ...keys.filter((k) => isEnvironmentEntry(options.breakers[k]))]) {
    assignDefined(entry, options.breakers[key]);
  }
  const { extends: entryBase, ...entryOwn } = entry as CircuitBreakerConfigEntry;
  const { extends: declaredBase, ...declaredOwn } = declared ?? {};
  const base = entryBase ?? declaredBase;
  let config: CircuitBreakerOptions | undefined;
  if (base !== undefined) {
    config = typeof base === 'string' && Object.hasOwn(options.configs, base) ? options.configs[base] : undefined;
    if (config === undefined) {
      throw new CircuitBreakerConfigError([{ path: `breaker '${name}'.extends`, expected: MODULE_EXPECTED.extendsName(Object.keys(options.configs)), value: base }]);
    }
  }
  const merged: Record<string, unknown> = {};
  for (const layer of [options.defaults, declaredOwn, config, entryOwn]) assignDefined(merged, layer);
  if (merged.window !== undefined && [declaredOwn, config, entryOwn].every((layer) => layer?.failureThreshold === undefined)) {
    delete merged.failureThreshold;
  }
  const problems = validateCircuitBreakerOptions(merged, `breaker '${name}'`);
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  return merged as CircuitBreakerOptions;
}
