// Every user-facing message of shared stores (`CircuitBreakerStore` and its implementations), in one place.

/** `event` says what happened (`connection lost`), `cause` why (`WRONGPASS: invalid username-password pair…`, `timeout`). */
export function storeUnavailableMessage(label: string, event: string, cause: string): string {
  return `Circuit breaker store (${label}) unavailable: ${event} (${cause}). Breakers run on local state, and half-open probes are limited per instance, until it is back`;
}

/** Logged when an outage goes on for another cause (timeout, then WRONGPASS): once per cause. */
export function storeStillUnavailableMessage(label: string, event: string, cause: string): string {
  return `Circuit breaker store (${label}) still unavailable, with another cause: ${event} (${cause})`;
}

export function storeAvailableMessage(label: string, breakers: number): string {
  return `Circuit breaker store (${label}) available again; resynchronised ${breakers} breaker${breakers === 1 ? '' : 's'}`;
}

export function storeDataLostMessage(label: string, breakers: number): string {
  return `Circuit breaker store (${label}): its shared data is gone (flushed, evicted or a new server); writing back the state of ${breakers} breaker${breakers === 1 ? '' : 's'}`;
}

export function storeKeyUnusableMessage(label: string, name: string, keys: string, event: string, cause: string, retryMs: number): string {
  return `Circuit breaker store (${label}): the shared state of '${name}' is unusable: ${event} (${cause}) at ${keys}. '${name}' runs on local state; retried every ${Math.round(retryMs / 1000)} s or more until the key is fixed or deleted`;
}

export function storeKeyUsableMessage(label: string, name: string): string {
  return `Circuit breaker store (${label}): the shared state of '${name}' is usable again`;
}

/** What made the store unavailable; the cause of each (lib/store/store-cause.ts) follows it in parentheses. */
export const STORE_EVENTS = {
  timeout: (operation: string, timeoutMs: number) => `${operation} got no answer within ${timeoutMs} ms`,
  failed: (operation: string) => `${operation} failed`,
  notConnected: 'not connected',
  notSubscribed: 'subscribing to broadcasts failed, retried until it succeeds',
  startup: (timeoutMs: number) => `no connection within ${timeoutMs} ms at start-up`,
  connectionLost: 'connection lost',
} as const;

/** How a cause reads in those lines (lib/store/store-cause.ts tells which it is). */
export const STORE_CAUSE_TEXTS = {
  timeout: 'timeout',
  unknown: 'cause unknown',
  reply: (code: string, text: string) => (text === '' ? code : `${code}: ${text}`),
} as const;

export const STORE_OPERATIONS = {
  load: (name: string) => `loading the shared state of '${name}'`,
  publish: (name: string) => `sharing a transition of '${name}'`,
  lease: (name: string) => `the half-open lease of '${name}'`,
  release: (name: string) => `releasing the half-open lease of '${name}'`,
  resync: (name: string) => `resynchronising '${name}'`,
  heartbeat: 'checking the shared data',
} as const;

export function storeAlreadyAttachedMessage(label: string, name: string): string {
  return `Circuit breaker store (${label}): a breaker named '${name}' is already attached; one store serves one registry, with one breaker per name`;
}

export function storeClosedMessage(label: string): string {
  return `Circuit breaker store (${label}) is closed; create a new store to attach breakers`;
}

export const STORE_EXPECTED = {
  options: 'expected an options object',
  timeoutMs: 'expected a duration in ms: a finite number > 0',
  startupTimeoutMs: 'expected a duration in ms: a finite number >= 0',
  heartbeatMs: 'expected a duration in ms: a finite number >= 0 (0 turns the heartbeat off)',
  closeTimeoutMs: 'expected a duration in ms: a finite number >= 0',
  logger: 'expected a logger { log(message), warn(message) }',
  backend: 'expected an InMemoryStoreBackend (or no backend)',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
} as const;
