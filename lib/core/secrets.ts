// Which names hold secrets: an error or a log line never quotes their values, it names them only.

/** Names that look like they hold a secret: `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, `*KEY*`, `*AUTH*`, `*CREDENTIAL*`… */
// Loose on purpose: a misspelt CIRCUIT_BREAKER_ADMIN_TOKN must be caught as well. `KEY` counts except
// in `keyPrefix`, which names a Redis key prefix, not a key.
const SECRET_NAME = /TOKE?N|SECRET|PASS|PWD|KEY(?!PREFIX)|AUTH|CRED|PRIVATE|SESSION|COOKIE|ADMIN/i;

/** What an error or log line shows instead of a secret's value. */
export const REDACTED = '<redacted>';

/** Whether a variable, option path or property named `name` may hold a secret. */
export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * Whether the value at an option path (`management.token`) or variable (`CIRCUIT_BREAKER_ADMIN_TOKEN`)
 * may be a secret: its last segment looks secret. An empty string reveals nothing and is kept.
 */
export function isSecretValue(path: string, value: unknown): boolean {
  if (value === undefined || value === null || value === '' || typeof value === 'boolean') return false;
  const last = path.split(/[.\s[\]()]+/).filter(Boolean).pop() ?? path;
  return looksSecret(last);
}
