import type { MessageEvent } from '@nestjs/common';
import { concat, defer, endWith, ignoreElements, interval, map, merge, type Observable, of, share, takeUntil } from 'rxjs';
import { type Breaker, BREAKER_EVENT_NAMES, CircuitBreakerConfigError, type CircuitState, type ConfigProblem, errorKind } from '../core/index.js';
import type { CircuitBreakerRegistry, CircuitBreakerRegistryEvent } from '../registry/circuit-breaker.registry.js';
import { DASHBOARD_EXPECTED } from './dashboard.messages.js';

/** Options of {@link circuitBreakerEventStream}. */
export interface CircuitBreakerEventStreamOptions {
  /**
   * Also stream each call's outcome (`success`, `failure`, `timeout`, `rejected`, `ignored`). While
   * such a stream is open, every call of every breaker is timed (a `success`/`failure` listener).
   * @default false
   */
  perCall?: boolean;
  /** interval of the keep-alive `heartbeat` event (proxies drop idle connections) @default 15000 */
  heartbeatMs?: number;
}

/** @default CircuitBreakerEventStreamOptions.heartbeatMs */
export const DEFAULT_HEARTBEAT_MS = 15_000;
const MIN_HEARTBEAT_MS = 10;
const MAX_HEARTBEAT_MS = 3_600_000;
const OPTION_KEYS: readonly (keyof CircuitBreakerEventStreamOptions)[] = ['perCall', 'heartbeatMs'];
const STATE_CHANGES = ['stateChange'] as const;

/**
 * The Server-Sent Events of `GET <management.path>/events`, for Nest's `@Sse()`: first a `snapshot`
 * (`{ type, at, breakers: { <name>: <state> } }`, every breaker's state, when `registry` has `names()`
 * and `get()`), then each breaker event: each message's SSE
 * `event:` is the breaker event's type and its `data` the event as JSON (`{ type, name, from, to,
 * reason, at }` for a `stateChange`), plus a `heartbeat` event (`{ at }`) every `heartbeatMs`.
 *
 * Nothing is attached before a client subscribes; the registry attaches one listener per breaker and
 * event type for all clients together and removes it when the last client leaves. Errors of
 * `failure` / `ignored` events are sent as their class name (and `code`), never their message, which
 * may hold details not meant for a dashboard.
 *
 * @example
 * @Sse('events') events() { return circuitBreakerEventStream(this.registry); }
 */
export function circuitBreakerEventStream(
  registry: Pick<CircuitBreakerRegistry, 'events'> & Partial<{ names(): Iterable<string>; get(name: string): Breaker | undefined }>,
  options: CircuitBreakerEventStreamOptions = {},
): Observable<MessageEvent> {
  const problems = streamOptionProblems(options);
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const events = registry.events(options.perCall === true ? BREAKER_EVENT_NAMES : STATE_CHANGES).pipe(map(toMessage), share());
  // The stream ends when the registry's events end (application shutdown): the heartbeat stops with
  // them, so that the response is ended and the HTTP server can close.
  const ended = events.pipe(ignoreElements(), endWith(true));
  const live = merge(
    events,
    interval(heartbeatMs).pipe(
      map((): MessageEvent => ({ type: 'heartbeat', data: { type: 'heartbeat', at: new Date().toISOString() } })),
      takeUntil(ended),
    ),
  );
  const { names, get } = registry;
  if (typeof names !== 'function' || typeof get !== 'function') return live;
  // The states first, read as the client subscribes; the live events follow at once (no gap: the
  // subscription to them is made in the same turn).
  return concat(defer(() => of(snapshotMessage(names.call(registry), (name) => get.call(registry, name)))), live);
}

/** `snapshot`: `{ type, at, breakers: { <name>: <state> } }`, every breaker's state as a client connects. */
function snapshotMessage(names: Iterable<string>, get: (name: string) => Breaker | undefined): MessageEvent {
  const breakers: Record<string, CircuitState> = {};
  for (const name of names) {
    const breaker = get(name);
    if (breaker !== undefined) breakers[name] = breaker.state;
  }
  return { type: 'snapshot', data: { type: 'snapshot', at: new Date().toISOString(), breakers } };
}

function toMessage(event: CircuitBreakerRegistryEvent): MessageEvent {
  if (event.type === 'failure' || event.type === 'ignored' || event.type === 'fallback') {
    return { type: event.type, data: { ...event, error: describeError(event.error) } };
  }
  return { type: event.type, data: event };
}

/** `{ name: 'TypeError', code?: 'ECONNREFUSED' }`: what failed, without the message. */
function describeError(error: unknown): { name: string; code?: string } {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' || typeof code === 'number' ? { name: errorKind(error), code: String(code) } : { name: errorKind(error) };
}

function streamOptionProblems(options: unknown): ConfigProblem[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return [{ path: 'options', expected: DASHBOARD_EXPECTED.streamOptions, value: options }];
  const o = options as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) problems.push({ path: `options.${key}`, expected: DASHBOARD_EXPECTED.unknownKey(OPTION_KEYS), value: o[key] });
  }
  if (o.perCall !== undefined && typeof o.perCall !== 'boolean') problems.push({ path: 'options.perCall', expected: DASHBOARD_EXPECTED.boolean, value: o.perCall });
  const h = o.heartbeatMs;
  if (h !== undefined && !(Number.isInteger(h) && (h as number) >= MIN_HEARTBEAT_MS && (h as number) <= MAX_HEARTBEAT_MS)) {
    problems.push({ path: 'options.heartbeatMs', expected: DASHBOARD_EXPECTED.heartbeatMs(MIN_HEARTBEAT_MS, MAX_HEARTBEAT_MS), value: h });
  }
  return problems;
}
