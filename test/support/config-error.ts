import { expect } from '@jest/globals';
import { CircuitBreakerConfigError } from '../../lib/core/index.js';

/** Runs `fn`, expects a `CircuitBreakerConfigError`, and returns its message. */
export function configErrorMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a CircuitBreakerConfigError');
}
