import type { StateChangeEvent } from '../core/index.js';

// Every user-facing message of the registry.

/** `CircuitBreaker 'openai': CLOSED → OPEN (threshold reached: 3/3)` */
export function transitionMessage(event: StateChangeEvent): string {
  return `CircuitBreaker '${event.name}': ${event.from.toUpperCase()} → ${event.to.toUpperCase()} (${event.reason})`;
}

export function createdListenerThrewMessage(name: string): string {
  return `A breaker-created listener threw for circuit breaker '${name}'; the breaker is unaffected`;
}

export function storeAttachFailedMessage(name: string): string {
  return `Circuit breaker '${name}' could not be attached to the store; it runs on local state only`;
}

export const REGISTRY_EXPECTED = {
  eventTypes: (known: readonly string[]) => `expected an array of event names (known: ${known.join(', ')})`,
} as const;
