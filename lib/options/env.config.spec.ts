import { describe, expect, it } from '@jest/globals';
import { configErrorMessage } from '../../test/support/config-error.js';
import { circuitBreakerConfigFromEnv } from './env.config.js';

const problemsOf = (env: Record<string, string>): string => configErrorMessage(() => circuitBreakerConfigFromEnv(env));

describe('circuitBreakerConfigFromEnv', () => {
  it('maps every documented CIRCUIT_BREAKER_* variable, seconds to milliseconds', () => {
    expect(circuitBreakerConfigFromEnv({
      CIRCUIT_BREAKER_ENABLED: 'false',
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '3',
      CIRCUIT_BREAKER_TIMEOUT: '30',
      CIRCUIT_BREAKER_HALF_OPEN_TIMEOUT: '2.5',
      CIRCUIT_BREAKER_HALF_OPEN_CALLS: '2',
      CIRCUIT_BREAKER_SUCCESS_THRESHOLD: '4',
      CIRCUIT_BREAKER_ADMIN_TOKEN: 's3cret',
      CIRCUIT_BREAKER__OPENAI__RECOVERY_TIMEOUT: '120',
      CIRCUIT_BREAKER__OPENAI__FAILURE_THRESHOLD: '1',
      PATH: '/usr/bin',
    })).toEqual({
      enabled: false,
      defaults: { failureThreshold: 3, resetTimeoutMs: 30_000, halfOpenTimeoutMs: 2_500, halfOpenMaxCalls: 2, successThreshold: 4 },
      breakers: { OPENAI: { resetTimeoutMs: 120_000, failureThreshold: 1 } },
      management: { token: 's3cret' },
    });
  });

  it('returns only what is set; an empty value counts as unset', () => {
    expect(circuitBreakerConfigFromEnv({})).toEqual({});
    expect(circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER_TIMEOUT: '', CIRCUIT_BREAKER_ENABLED: '  ' })).toEqual({});
  });

  it('reads process.env by default', () => {
    const saved = process.env.CIRCUIT_BREAKER_HALF_OPEN_CALLS;
    process.env.CIRCUIT_BREAKER_HALF_OPEN_CALLS = '7';
    try {
      expect(circuitBreakerConfigFromEnv().defaults?.halfOpenMaxCalls).toBe(7);
    } finally {
      if (saved === undefined) delete process.env.CIRCUIT_BREAKER_HALF_OPEN_CALLS;
      else process.env.CIRCUIT_BREAKER_HALF_OPEN_CALLS = saved;
    }
  });

  it.each([['true', true], ['1', true], ['YES', true], ['on', true], ['false', false], ['0', false], ['No', false], ['off', false]])(
    'reads CIRCUIT_BREAKER_ENABLED=%s as %s', (value, enabled) => {
      expect(circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER_ENABLED: value }).enabled).toBe(enabled);
    },
  );

  it('keeps the last double underscore as the separator: a name may contain one', () => {
    expect(circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER__A__B__TIMEOUT: '1' }).breakers).toEqual({ A__B: { resetTimeoutMs: 1_000 } });
  });

  it('lists every malformed value at once, naming the variable, the value and what is expected', () => {
    const message = problemsOf({
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: 'abc',
      CIRCUIT_BREAKER_HALF_OPEN_CALLS: '0',
      CIRCUIT_BREAKER_TIMEOUT: '-1',
      CIRCUIT_BREAKER_HALF_OPEN_TIMEOUT: '0',
      CIRCUIT_BREAKER_SUCCESS_THRESHOLD: '1.5',
      CIRCUIT_BREAKER_ENABLED: 'maybe',
    });
    expect(message).toContain('(6 problems)');
    expect(message).toContain('CIRCUIT_BREAKER_FAILURE_THRESHOLD: expected an integer >= 1, received "abc"');
    expect(message).toContain('CIRCUIT_BREAKER_HALF_OPEN_CALLS: expected an integer >= 1, received "0"');
    expect(message).toContain('CIRCUIT_BREAKER_TIMEOUT: expected a number of seconds >= 0, e.g. 30 or 0.5, received "-1"');
    expect(message).toContain('CIRCUIT_BREAKER_HALF_OPEN_TIMEOUT: expected a number of seconds > 0, e.g. 30 or 0.5, received "0"');
    expect(message).toContain('CIRCUIT_BREAKER_SUCCESS_THRESHOLD: expected an integer >= 1, received "1.5"');
    expect(message).toContain('CIRCUIT_BREAKER_ENABLED: expected true or false (also 1/0, yes/no, on/off), received "maybe"');
  });

  it('rejects a per-breaker value the same way', () => {
    expect(problemsOf({ CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD: '0' }))
      .toContain('CIRCUIT_BREAKER__PAYMENTS__FAILURE_THRESHOLD: expected an integer >= 1, received "0"');
  });

  it('rejects TIMEOUT and RECOVERY_TIMEOUT that disagree, and accepts them when they agree', () => {
    expect(problemsOf({ CIRCUIT_BREAKER_TIMEOUT: '30', CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '60' }))
      .toContain('CIRCUIT_BREAKER_RECOVERY_TIMEOUT: is an alias of CIRCUIT_BREAKER_TIMEOUT ("30"): set one of them, received "60"');
    expect(circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER_TIMEOUT: '30', CIRCUIT_BREAKER_RECOVERY_TIMEOUT: '30' }).defaults)
      .toEqual({ resetTimeoutMs: 30_000 });
  });

  it('rejects unknown CIRCUIT_BREAKER_ variables and settings (a typo must not pass silently)', () => {
    expect(problemsOf({ CIRCUIT_BREAKER_FAILURE_TRESHOLD: '3' })).toContain('CIRCUIT_BREAKER_FAILURE_TRESHOLD: unknown variable (known: ');
    expect(problemsOf({ CIRCUIT_BREAKER__PAYMENTS__WINDOW: '3' })).toContain('CIRCUIT_BREAKER__PAYMENTS__WINDOW: unknown per-breaker setting (known: ');
    expect(problemsOf({ CIRCUIT_BREAKER__TIMEOUT: '3' })).toContain('CIRCUIT_BREAKER__TIMEOUT: expected CIRCUIT_BREAKER__<NAME>__<SETTING>');
  });
});
