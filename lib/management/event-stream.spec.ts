import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { MessageEvent } from '@nestjs/common';
import { Subject } from 'rxjs';
import { BREAKER_EVENT_NAMES, type BreakerEventName, CircuitBreakerConfigError } from '../core/index.js';
import type { CircuitBreakerRegistryEvent } from '../registry/circuit-breaker.registry.js';
import { circuitBreakerEventStream, DEFAULT_HEARTBEAT_MS } from './event-stream.js';

/** What the stream needs from a registry: `events(types)`, recorded. */
class FakeRegistry {
  readonly requested: (readonly BreakerEventName[])[] = [];
  readonly source = new Subject<CircuitBreakerRegistryEvent>();
  events(types: readonly BreakerEventName[]) {
    this.requested.push(types);
    return this.source.asObservable();
  }
}

describe('circuitBreakerEventStream', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-11-23T10:00:00.000Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('streams state changes only, by default, as SSE messages typed by the event', () => {
    const registry = new FakeRegistry();
    const received: MessageEvent[] = [];
    const subscription = circuitBreakerEventStream(registry).subscribe((m) => received.push(m));
    expect(registry.requested).toEqual([['stateChange']]);
    const change = { type: 'stateChange', name: 'payments', from: 'closed', to: 'open', reason: 'threshold reached: 3/3', at: '2026-11-23T10:00:00.000Z' } as const;
    registry.source.next(change);
    expect(received).toEqual([{ type: 'stateChange', data: change }]);
    subscription.unsubscribe();
  });

  it('asks for every event type with perCall, sending an error as its name and code, never its message', () => {
    const registry = new FakeRegistry();
    const received: MessageEvent[] = [];
    const subscription = circuitBreakerEventStream(registry, { perCall: true }).subscribe((m) => received.push(m));
    expect(registry.requested).toEqual([BREAKER_EVENT_NAMES]);
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432 (password=hunter2)'), { code: 'ECONNREFUSED' });
    registry.source.next({ type: 'failure', name: 'db', error: refused, durationMs: 12 });
    registry.source.next({ type: 'ignored', name: 'db', error: new RangeError('nope') });
    registry.source.next({ type: 'failure', name: 'http', error: { status: 503 }, durationMs: 3 });
    registry.source.next({ type: 'success', name: 'db', durationMs: 4 });
    expect(received).toEqual([
      { type: 'failure', data: { type: 'failure', name: 'db', error: { name: 'Error', code: 'ECONNREFUSED' }, durationMs: 12 } },
      { type: 'ignored', data: { type: 'ignored', name: 'db', error: { name: 'RangeError' } } },
      { type: 'failure', data: { type: 'failure', name: 'http', error: { name: 'object' }, durationMs: 3 } },
      { type: 'success', data: { type: 'success', name: 'db', durationMs: 4 } },
    ]);
    expect(JSON.stringify(received)).not.toContain('hunter2');
    subscription.unsubscribe();
  });

  it('sends a heartbeat every heartbeatMs, and leaves no timer and no subscription behind on unsubscribe', () => {
    const registry = new FakeRegistry();
    const received: MessageEvent[] = [];
    const subscription = circuitBreakerEventStream(registry, { heartbeatMs: 1_000 }).subscribe((m) => received.push(m));
    jest.advanceTimersByTime(2_500);
    expect(received).toEqual([
      { type: 'heartbeat', data: { type: 'heartbeat', at: '2026-11-23T10:00:01.000Z' } },
      { type: 'heartbeat', data: { type: 'heartbeat', at: '2026-11-23T10:00:02.000Z' } },
    ]);
    expect(registry.source.observed).toBe(true);
    subscription.unsubscribe();
    expect(jest.getTimerCount()).toBe(0);
    expect(registry.source.observed).toBe(false);
  });

  it(`beats every ${DEFAULT_HEARTBEAT_MS} ms by default`, () => {
    const received: MessageEvent[] = [];
    const subscription = circuitBreakerEventStream(new FakeRegistry()).subscribe((m) => received.push(m));
    jest.advanceTimersByTime(DEFAULT_HEARTBEAT_MS - 1);
    expect(received).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(received).toHaveLength(1);
    subscription.unsubscribe();
  });

  it('rejects bad options, naming each', () => {
    const call = () => circuitBreakerEventStream(new FakeRegistry(), { perCall: 'yes', heartbeatMs: 0, every: 1 } as never);
    expect(call).toThrow(CircuitBreakerConfigError);
    expect(call).toThrow(/options\.perCall: expected true or false, received "yes"/);
    expect(call).toThrow(/options\.heartbeatMs: expected an integer number of milliseconds from 10 to 3600000, received 0/);
    expect(call).toThrow(/options\.every: unknown option \(known: perCall, heartbeatMs\)/);
  });
});
