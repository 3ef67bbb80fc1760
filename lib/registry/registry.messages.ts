import type { StateChangeEvent } from '../core/index.js';
import { describeValue } from '../core/errors.js';

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

export function storeDetachFailedMessage(name: string): string {
  return `Removed circuit breaker '${name}' could not be detached from the store cleanly`;
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

/** How many characters of a rejected name a message quotes: a name may come from a request. */
const QUOTED_NAME_LENGTH = 40;

/** A rejected name as a message quotes it: at most 40 characters (then `…` and the full length). */
function quotedName(value: unknown): string {
  const characters = [...(typeof value === 'string' ? value : describeValue(value))];
  const shown = characters.length > QUOTED_NAME_LENGTH ? `${characters.slice(0, QUOTED_NAME_LENGTH).join('')}…` : characters.join('');
  const quoted = typeof value === 'string' ? JSON.stringify(shown) : shown;
  return characters.length > QUOTED_NAME_LENGTH ? `${quoted} (${characters.length} characters)` : quoted;
}

/** `Invalid circuit breaker name "a b": expected a breaker name matching /^[A-Za-z0-9._:-]{1,128}$/` */
export function invalidNameMessage(value: unknown, expected: string): string {
  return `Invalid circuit breaker name ${quotedName(value)}: ${expected}`;
}

export function breakerLimitMessage(name: string, maxBreakers: number): string {
  return `Circuit breaker '${name}' was not created: the registry holds maxBreakers (${maxBreakers}) breakers already. `
    + 'Remove dynamic breakers no longer used with registry.remove(name), or raise maxBreakers';
}

export function nearBreakerLimitMessage(count: number, maxBreakers: number): string {
  return `${count} circuit breakers of maxBreakers ${maxBreakers} exist (at least 90 % of the limit): getOrCreate of a new name fails `
    + `once there are ${maxBreakers}. Remove dynamic breakers no longer used with registry.remove(name), or raise maxBreakers`;
}

export function removeDeclaredMessage(name: string, declaredBy: string): string {
  return `Circuit breaker '${name}' cannot be removed: the application declares it (${declaredBy}). `
    + 'remove() removes only breakers that getOrCreate created for a dynamic name';
}

export function removedListenerThrewMessage(name: string): string {
  return `A breaker-removed listener threw for circuit breaker '${name}'; the breaker is removed all the same`;
}

export const DECLARED_BY = {
  configured: 'a `breakers` key',
  decorated: (where: string) => `@CircuitBreaker on ${where}`,
  injected: '@InjectCircuitBreaker',
} as const;
