import { describe, expect, it } from '@jest/globals';
import { configErrorMessage as messageOf } from '../../test/support/config-error.js';
import type { CircuitBreakerModuleOptions } from './module-options.interface.js';
import { breakerOptionsFor, matchingBreakerKeys, resolveModuleOptions, validateOptionLayer } from './module-options.js';

describe('resolveModuleOptions', () => {
  it('applies the defaults of every module option', () => {
    expect(resolveModuleOptions(undefined)).toEqual({
      enabled: true, defaults: {}, breakers: {}, configs: {}, strict: false, management: undefined,
    });
    expect(resolveModuleOptions({ management: {} }).management).toEqual({ enabled: false, path: 'circuit-breakers', token: undefined, guards: [] });
  });

  it('checks a config or breaker entry key by key: rules tying keys together wait for the merged options', () => {
    expect(() => resolveModuleOptions({
      configs: { rated: { failureRateThreshold: 50, minimumCalls: 20 } }, // the window comes from elsewhere
      breakers: { payments: { extends: 'rated', window: { type: 'count', size: 10 } } },
    })).not.toThrow();
    expect(messageOf(() => resolveModuleOptions({ configs: { rated: { failureRateThreshold: 500 } } })))
      .toContain('configs.rated.failureRateThreshold: expected a percentage in (0, 100], received 500');
  });

  it('lists every problem: unknown keys, types, names, extends, management', () => {
    const message = messageOf(() => resolveModuleOptions({
      enabled: 'yes',
      strit: true,
      breakers: { 'a b': {}, payments: { extends: 'missing', window: { type: 'count', size: 0 } } },
      management: { path: '/', token: '', guards: [42], foo: 1 },
    } as unknown as CircuitBreakerModuleOptions));
    expect(message).toContain('enabled: expected true or false, received "yes"');
    expect(message).toContain('strit: unknown option (known: enabled, defaults, breakers, configs, strict, management');
    expect(message).toContain('breakers.a b: expected a breaker name matching');
    expect(message).toContain('breakers.payments.extends: names a config, but `configs` is empty, received "missing"');
    expect(message).toContain('breakers.payments.window.size: expected an integer >= 1, received 0');
    expect(message).toContain('management.path: expected a non-empty route path');
    expect(message).toContain('management.token: expected a non-empty string, received ""');
    expect(message).toContain('management.guards[0]: expected a guard class or an instance with canActivate(), received 42');
    expect(message).toContain('management.foo: unknown option');
  });
});

describe('validateOptionLayer', () => {
  it('reports a bad value and an unknown key, but no cross-key rule', () => {
    expect(validateOptionLayer({ slowCallRateThreshold: 50, window: { type: 'time', durationMs: 1_000 } }, 'x')).toEqual([]);
    expect(validateOptionLayer({ resetTimeoutMs: -5, retries: 3 }, 'x').map((p) => p.path)).toEqual(['x.resetTimeoutMs', 'x.retries']);
  });
});

describe('breakerOptionsFor', () => {
  const options = resolveModuleOptions({
    defaults: { failureThreshold: 5, resetTimeoutMs: 60_000, halfOpenMaxCalls: 1 },
    configs: {
      slow: { window: { type: 'time', durationMs: 60_000 }, slowCallDurationMs: 2_000, slowCallRateThreshold: 50 },
      counted: { window: { type: 'count', size: 10 }, failureThreshold: 4 },
    },
    breakers: {
      'payments-api': { resetTimeoutMs: 10_000 },
      PAYMENTS_API: { halfOpenMaxCalls: 3, resetTimeoutMs: 20_000 },
      openai: { extends: 'slow' },
    },
  });

  it('merges defaults ← declared ← configs[extends] ← breakers[name]', () => {
    expect(breakerOptionsFor(options, 'payments-api', { failureThreshold: 2, resetTimeoutMs: 1, successThreshold: 2 })).toEqual({
      failureThreshold: 2, resetTimeoutMs: 20_000, halfOpenMaxCalls: 3, successThreshold: 2,
    });
  });

  it('applies every key matching the name (case-insensitive, - . : read as _), in key order', () => {
    expect(matchingBreakerKeys(options.breakers, 'payments-api')).toEqual(['payments-api', 'PAYMENTS_API']);
    expect(matchingBreakerKeys(options.breakers, 'Payments.Api')).toEqual(['payments-api', 'PAYMENTS_API']);
    expect(matchingBreakerKeys(options.breakers, 'payments')).toEqual([]);
  });

  it('never lets defaults.failureThreshold reach a windowed breaker, but keeps an explicit one', () => {
    expect(breakerOptionsFor(options, 'openai').failureThreshold).toBeUndefined();
    expect(breakerOptionsFor(options, 'x', { extends: 'counted' }).failureThreshold).toBe(4);
    expect(breakerOptionsFor(options, 'y', { window: { type: 'count', size: 5 }, failureThreshold: 2 }).failureThreshold).toBe(2);
  });

  it('takes extends from the breaker entry over the declared one', () => {
    expect(breakerOptionsFor(options, 'openai', { extends: 'counted' }).window).toEqual({ type: 'time', durationMs: 60_000 });
  });

  it('never lets an explicit undefined erase a lower layer', () => {
    expect(breakerOptionsFor(options, 'z', { resetTimeoutMs: undefined }).resetTimeoutMs).toBe(60_000);
  });

  it('rejects a merged result that breaks a rule, or an unknown declared config', () => {
    expect(messageOf(() => breakerOptionsFor(options, 'rated', { failureRateThreshold: 50 })))
      .toContain("breaker 'rated'.failureRateThreshold: needs a window (count or time), received 50");
    expect(messageOf(() => breakerOptionsFor(options, 'q', { extends: 'nope' })))
      .toContain("breaker 'q'.extends: expected the name of a config (known: slow, counted), received \"nope\"");
  });
});
