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

export function unmatchedEnvironmentMessage(key: string, declared: readonly string[]): string {
  return `CIRCUIT_BREAKER__${key}__* matches no breaker of this application `
    + `(configured, decorated or injected: ${declared.length === 0 ? 'none' : declared.join(', ')}); it creates none. `
    + 'Names match case-insensitively, with `.`, `-` and `:` read as `_`.';
}

export function unconfiguredNameMessage(name: string, where: string, closest: string | undefined): string {
  return `Circuit breaker '${name}' (${where}) is not in \`breakers\`: it runs on the defaults`
    + `${closest === undefined ? '' : `. Did you mean '${closest}'?`} (strict: true makes this an error)`;
}

export const REGISTRY_EXPECTED = {
  eventTypes: (known: readonly string[]) => `expected an array of event names (known: ${known.join(', ')})`,
} as const;
