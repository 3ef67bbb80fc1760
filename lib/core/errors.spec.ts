import { describe, expect, it } from '@jest/globals';
import { CallTimeoutError, CircuitBreakerError, CircuitBreakerOpenError, isCircuitBreakerOpenError } from './errors.js';

describe('isCircuitBreakerOpenError', () => {
  it('recognises open errors however they were built', () => {
    expect(isCircuitBreakerOpenError(new CircuitBreakerOpenError('payments', 'open', 1000))).toBe(true);
    expect(isCircuitBreakerOpenError(CircuitBreakerOpenError.withoutStack('payments', 'half_open', 0))).toBe(true);
  });

  it('rejects other errors, look-alikes and non-objects', () => {
    for (const value of [
      new CallTimeoutError('payments', 100),
      new CircuitBreakerError('x'),
      new Error("Circuit breaker 'payments' is open"),
      { code: 'CIRCUIT_OPEN', breakerName: 'payments', state: 'open', retryAfterMs: 1 },
      null,
      undefined,
      'CIRCUIT_OPEN',
      42,
    ]) {
      expect(isCircuitBreakerOpenError(value)).toBe(false);
    }
  });

  it('checks the registered brand, not the class, so another copy of the package is recognised', () => {
    // what an error from the other build (or another installed version) looks like from here
    class OtherCopyOpenError extends Error {}
    Object.defineProperty(OtherCopyOpenError.prototype, Symbol.for('nestjs-circuit-breaker.open-error'), { value: true });
    const foreign = new OtherCopyOpenError('open');
    expect(isCircuitBreakerOpenError(foreign)).toBe(true);
    // instanceof checks the brand too, so that Nest's @Catch(CircuitBreakerOpenError) matches it
    expect(foreign instanceof CircuitBreakerOpenError).toBe(true);
    expect(new Error('open') instanceof CircuitBreakerOpenError).toBe(false);
  });

  it('instanceof of CallTimeoutError checks its own brand; a subclass keeps the prototype-chain rule', () => {
    class OtherCopyTimeout extends Error {}
    Object.defineProperty(OtherCopyTimeout.prototype, Symbol.for('nestjs-circuit-breaker.call-timeout-error'), { value: true });
    expect(new OtherCopyTimeout('late') instanceof CallTimeoutError).toBe(true);
    expect(new CallTimeoutError('svc', 5) instanceof CallTimeoutError).toBe(true);
    expect(new CallTimeoutError('svc', 5) instanceof CircuitBreakerOpenError).toBe(false);
    expect(new CircuitBreakerOpenError('svc', 'open', 5) instanceof CallTimeoutError).toBe(false);
    class MyOpenError extends CircuitBreakerOpenError {}
    expect(new MyOpenError('svc', 'open', 1) instanceof MyOpenError).toBe(true);
    expect(new CircuitBreakerOpenError('svc', 'open', 1) instanceof MyOpenError).toBe(false);
    expect(CircuitBreakerOpenError.withoutStack('svc', 'open', 1) instanceof CircuitBreakerOpenError).toBe(true);
  });

  it('keeps the brand out of JSON and enumeration', () => {
    const error = new CircuitBreakerOpenError('payments', 'open', 5);
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(JSON.stringify(error)).not.toContain('open-error');
  });
});
