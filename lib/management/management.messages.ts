import { invalidNameMessage } from '../registry/registry.messages.js';
// Every user-facing message of the management API.

/** What Nest itself answers for a route that does not exist: a disabled API looks absent. */
export function routeNotFoundMessage(method: string, url: string): string {
  return `Cannot ${method} ${url}`;
}

export function badBreakerNameMessage(name: string, pattern: RegExp): string {
  // A name from a URL: quoted as the registry quotes a rejected name (at most 40 characters).
  return invalidNameMessage(name, `expected a name matching ${pattern}`);
}

/** 400 for a `?state=` value of `GET /<path>` that is not a circuit state. */
export function badStateFilterMessage(value: string, states: readonly string[]): string {
  return `Invalid state filter ${JSON.stringify(value)}: expected one or more of ${states.join(', ')}, comma-separated (e.g. ?state=open,half_open)`;
}

export function unknownBreakerMessage(name: string): string {
  return `No circuit breaker named '${name}'`;
}

/** 403 for a write while neither `management.token` nor `management.guards` is configured. */
export function writesNotConfiguredMessage(path: string): string {
  return `Management writes (POST /${path}/…) are disabled: set management.token `
    + '(e.g. from CIRCUIT_BREAKER_ADMIN_TOKEN) and send "Authorization: Bearer <token>", '
    + 'or protect the API with management.guards';
}

export const MISSING_TOKEN_MESSAGE = 'Missing bearer token: send "Authorization: Bearer <management.token>"';
export const WRONG_TOKEN_MESSAGE = 'Invalid bearer token';
/** The message of Nest's own guard rejection, for a user guard that returns false. */
export const FORBIDDEN_MESSAGE = 'Forbidden resource';
