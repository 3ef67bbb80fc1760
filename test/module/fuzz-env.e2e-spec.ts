import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import { circuitBreakerConfigFromEnv, CircuitBreakerConfigError, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { BREAKER_NAME_PATTERN, RESERVED_BREAKER_NAMES } from '../../lib/constants.js';
import { breakerOptionsFor, resolveModuleOptions } from '../../lib/options/module-options.js';

// Fuzzing of circuitBreakerConfigFromEnv: whatever the environment holds, it returns
// options or throws CircuitBreakerConfigError naming each bad variable — never another exception,
// never a write outside its result (prototype keys as breaker names included), and what it returns
// boots a real application or fails it with CircuitBreakerConfigError.

const GLOBAL_SETTINGS = ['FAILURE_THRESHOLD', 'TIMEOUT', 'RECOVERY_TIMEOUT', 'HALF_OPEN_TIMEOUT', 'HALF_OPEN_CALLS', 'SUCCESS_THRESHOLD'];
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf'];

const nameArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_]{1,20}$/),
  fc.constantFrom(...PROTOTYPE_KEYS, '', '_', '__', 'a__b', 'PAYMENTS', 'payments'),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);
const keyArb = fc.oneof(
  fc.constantFrom(...GLOBAL_SETTINGS, 'ENABLED', 'ADMIN_TOKEN').map((s) => `CIRCUIT_BREAKER_${s}`),
  fc.tuple(nameArb, fc.oneof(fc.constantFrom(...GLOBAL_SETTINGS, 'ENABLED', 'ADMIN_TOKEN'), fc.string({ maxLength: 12 })))
    .map(([name, setting]) => `CIRCUIT_BREAKER__${name}__${setting}`),
  fc.string({ maxLength: 20 }).map((s) => `CIRCUIT_BREAKER_${s}`),
  fc.string({ maxLength: 20 }).map((s) => `CIRCUIT_BREAKER__${s}`),
  fc.constantFrom('circuit_breaker_timeout', 'CIRCUIT_BREAKERX', 'CIRCUIT_BREAKER', 'PATH', 'NODE_ENV', ...PROTOTYPE_KEYS),
  fc.string({ maxLength: 20 }),
);
const valueArb = fc.oneof(
  fc.integer({ min: -10, max: 100 }).map(String),
  fc.double().map(String),
  fc.constantFrom(
    '0', '1', '-1', '1.5', '.5', '5.', '1e3', '0x10', 'Infinity', 'NaN', '9'.repeat(400), '9'.repeat(20), ' 3 ', '3\t', '０', '٣', '1_000',
    '+1', '00', '0.0000001', 'true', 'FALSE', 'yes', 'off', 'maybe', '', '   ', '"3"', '[3]', '{}',
  ),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
/** A well-formed value for each setting, so that valid configurations get fuzzed too. */
const settingValueArb = (setting: string) => {
  switch (setting) {
    case 'ENABLED':
      return fc.constantFrom('true', 'false', 'YES', 'off', '1', '0');
    case 'ADMIN_TOKEN':
      return fc.string({ minLength: 1, maxLength: 20 });
    case 'FAILURE_THRESHOLD':
    case 'HALF_OPEN_CALLS':
    case 'SUCCESS_THRESHOLD':
      return fc.integer({ min: 1, max: 50 }).map(String);
    default:
      return fc.oneof(fc.integer({ min: 1, max: 600 }).map(String), fc.constantFrom('0.5', '2.25', '0'));
  }
};
const validishEntryArb = fc.tuple(fc.option(nameArb, { nil: undefined }), fc.constantFrom(...GLOBAL_SETTINGS, 'ENABLED', 'ADMIN_TOKEN'))
  .chain(([name, setting]) => settingValueArb(setting).map((value) => [name === undefined ? `CIRCUIT_BREAKER_${setting}` : `CIRCUIT_BREAKER__${name}__${setting}`, value] as const));
/** Environments as process.env holds them: own string properties, in any order, prototype keys included. */
const envArb = fc.oneof(
  fc.array(fc.tuple(keyArb, fc.option(valueArb, { nil: undefined, freq: 10 })), { maxLength: 8 }),
  fc.array(validishEntryArb, { minLength: 1, maxLength: 6 }),
  fc.tuple(fc.array(validishEntryArb, { maxLength: 4 }), fc.tuple(keyArb, valueArb)).map(([entries, odd]) => [...entries, odd]),
).map((entries) => Object.fromEntries(entries) as Record<string, string | undefined>);

const PROTOTYPES = [Object.prototype, Function.prototype, Array.prototype, Object];
const ownKeys = () => PROTOTYPES.map((p) => Reflect.ownKeys(p).map(String).sort().join(','));

type Outcome = { ok: true; value: ReturnType<typeof circuitBreakerConfigFromEnv> } | { ok: false; error: unknown };

function parse(env: Record<string, string | undefined>): Outcome {
  try {
    return { ok: true, value: circuitBreakerConfigFromEnv(env) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The breaker names a returned configuration configures, each well-formed for a registry. */
const registryNames = (options: ReturnType<typeof circuitBreakerConfigFromEnv>) => Object.keys(options.breakers ?? {});

describe('circuitBreakerConfigFromEnv under fuzzing', () => {
  it('returns options or throws CircuitBreakerConfigError naming every bad variable; nothing else, no prototype written', () => {
    const before = ownKeys();
    fc.assert(
      fc.property(envArb, (env) => {
        const outcome = parse(env);
        expect(ownKeys()).toEqual(before);
        for (const key of ['failureThreshold', 'resetTimeoutMs', 'halfOpenTimeoutMs', 'halfOpenMaxCalls', 'successThreshold']) {
          expect(({} as Record<string, unknown>)[key]).toBeUndefined();
        }
        if (outcome.ok) return;
        expect(outcome.error).toBeInstanceOf(CircuitBreakerConfigError);
        const error = outcome.error as CircuitBreakerConfigError;
        expect(error.problems.length).toBeGreaterThan(0);
        for (const problem of error.problems) {
          expect(Object.keys(env)).toContain(problem.path); // the variable…
          expect(error.message).toContain(problem.path);
          expect(problem.expected).toMatch(/\S/); // …and what it should be
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('does not depend on the order of the variables', () => {
    fc.assert(
      fc.property(envArb, fc.integer(), (env, seed) => {
        const entries = Object.entries(env);
        const shuffled = Object.fromEntries(entries.map((e, i) => [e, Math.sin(seed + i)] as const).sort((a, b) => a[1] - b[1]).map(([e]) => e));
        const [a, b] = [parse(env), parse(shuffled)];
        if (a.ok && b.ok) expect(b.value).toEqual(a.value);
        else expect(b.ok ? undefined : (b.error as Error).message).toBe(a.ok ? undefined : (a.error as Error).message);
      }),
      { numRuns: 500 },
    );
  });

  it('what it returns is valid module options: resolved, every breaker configured, or CircuitBreakerConfigError', () => {
    fc.assert(
      fc.property(envArb, (env) => {
        const outcome = parse(env);
        if (!outcome.ok) return;
        try {
          const resolved = resolveModuleOptions(outcome.value);
          for (const name of registryNames(outcome.value)) breakerOptionsFor(resolved, name);
        } catch (error) {
          // a name no registry accepts (`ÜBER`, `__proto__` is fine): refused at boot, with the same error type
          expect(error).toBeInstanceOf(CircuitBreakerConfigError);
          expect((error as CircuitBreakerConfigError).problems.every((p) => /^breakers\./.test(p.path))).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('boots a real application from any of them, or fails the boot with CircuitBreakerConfigError over a name no registry accepts', async () => {
    let booted = 0;
    await fc.assert(
      fc.asyncProperty(envArb, async (env) => {
        const outcome = parse(env);
        if (!outcome.ok) return;
        const names = registryNames(outcome.value);
        let app;
        try {
          const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot(outcome.value)] }).compile();
          app = moduleRef.createNestApplication({ logger: false });
          await app.init();
          const registry = app.get(CircuitBreakerRegistry);
          for (const name of names) expect(registry.getOrCreate(name).name).toBe(name);
          booted++;
        } catch (error) {
          expect(error).toBeInstanceOf(CircuitBreakerConfigError);
          // the only refusal allowed: a name the registry does not take
          const refused = (name: string) => !BREAKER_NAME_PATTERN.test(name) || RESERVED_BREAKER_NAMES.includes(name.toLowerCase());
          expect(names.some(refused)).toBe(true);
        } finally {
          await app?.close();
        }
      }),
      { numRuns: 100 },
    );
    expect(booted).toBeGreaterThan(0);
  });

  it('never quotes the value of a secret-looking variable in an error or a log line, and names the variable', async () => {
    const secretWord = fc.constantFrom('TOKEN', 'TOKN', 'SECRET', 'PASSWORD', 'PASSWD', 'KEY', 'API_KEY', 'AUTH', 'CREDENTIAL', 'CREDENTIALS');
    const affix = fc.stringMatching(/^[A-Z0-9_]{0,6}$/);
    const secretVariable = fc.oneof(
      // `keyPrefix` is the one KEY name that is not a secret (a Redis key prefix)
      fc.tuple(affix, secretWord, affix).map(([a, w, b]) => `CIRCUIT_BREAKER_${a}${w}${b}`).filter((v) => !/KEYPREFIX/i.test(v)),
      fc.tuple(fc.stringMatching(/^[A-Za-z0-9]{1,8}$/), secretWord).map(([n, w]) => `CIRCUIT_BREAKER__${n}__${w}`),
      fc.constant('CIRCUIT_BREAKER_ADMIN_TOKN'),
    );
    // Distinctive enough that finding it anywhere can only mean it was echoed.
    const secretValue = fc.stringMatching(/^[A-Za-z0-9+/=]{6,24}$/).map((v) => `sEcReT-${v}`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(secretVariable, secretValue), { minLength: 1, maxLength: 3 }), fc.array(validishEntryArb, { maxLength: 3 }), async (secrets, others) => {
        const env = { ...Object.fromEntries(others), ...Object.fromEntries(secrets) };
        const values = secrets.map(([, v]) => v);
        const seen: string[] = [];
        const outcome = parse(env);
        if (!outcome.ok) {
          const error = outcome.error as CircuitBreakerConfigError;
          seen.push(error.message, JSON.stringify(error.problems));
          for (const [variable] of secrets) {
            if (variable !== 'CIRCUIT_BREAKER_ADMIN_TOKEN' && error.problems.some((p) => p.path === variable)) expect(error.message).toContain(variable);
          }
        } else {
          const lines: string[] = [];
          const logger = { log: (m: unknown) => lines.push(String(m)), error: (...m: unknown[]) => lines.push(m.map(String).join(' ')), warn: (m: unknown) => lines.push(String(m)), debug: () => {}, verbose: () => {}, fatal: (m: unknown) => lines.push(String(m)) };
          let app;
          try {
            const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot(outcome.value)] }).compile();
            app = moduleRef.createNestApplication({ logger });
            await app.init();
          } catch (error) {
            seen.push(String((error as Error).message), JSON.stringify((error as CircuitBreakerConfigError).problems ?? null));
          } finally {
            await app?.close();
          }
          seen.push(...lines);
        }
        for (const text of seen) for (const value of values) expect(text).not.toContain(value);
      }),
      { numRuns: 150 },
    );
  });

  it('prototype keys are ordinary breaker names', () => {
    const options = circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER____proto____FAILURE_THRESHOLD: '7', CIRCUIT_BREAKER__constructor__TIMEOUT: '2' });
    expect(({} as Record<string, unknown>).failureThreshold).toBeUndefined();
    expect(Object.keys(options.breakers!)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(options.breakers, '__proto__')?.value).toEqual({ failureThreshold: 7 });
    expect(breakerOptionsFor(resolveModuleOptions(options), '__proto__').failureThreshold).toBe(7);
  });

  it('an integer too large to be exact is refused with the variable named', () => {
    expect(() => circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: '9'.repeat(400) })).toThrow(/CIRCUIT_BREAKER_FAILURE_THRESHOLD: expected an integer >= 1/);
  });
});
