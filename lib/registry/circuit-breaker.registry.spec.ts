import { describe, expect, it, jest } from '@jest/globals';
import { BadRequestException, Logger, ServiceUnavailableException } from '@nestjs/common';
import { type Breaker, CircuitBreakerConfigError } from '../core/index.js';
import type { CircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { resolveModuleOptions } from '../options/module-options.js';
import { FakeClock } from '../testing/fake-clock.js';
import { CircuitBreakerRegistry, type CircuitBreakerRegistryEvent } from './circuit-breaker.registry.js';

function registry(options: CircuitBreakerModuleOptions = {}, declared: Record<string, object> = {}) {
  const clock = new FakeClock();
  const r = new CircuitBreakerRegistry(
    resolveModuleOptions({ ...options, defaults: { clock, failureThreshold: 1, ...options.defaults } }),
    { optionsFor: (name) => declared[name] },
  );
  return { registry: r, clock };
}

const fail = (breaker: Breaker) => breaker.execute(async () => {
  throw new Error('down');
}).catch(() => undefined);

describe('CircuitBreakerRegistry', () => {
  jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);

  it('creates a breaker once, with the declared options, and returns it after', () => {
    const { registry: r } = registry({}, { payments: { failureThreshold: 4 } });
    expect(r.get('payments')).toBeUndefined();
    expect(r.has('payments')).toBe(false);
    const breaker = r.getOrCreate('payments');
    expect(breaker.options.failureThreshold).toBe(4);
    expect(r.getOrCreate('payments', { failureThreshold: 9 })).toBe(breaker);
    expect(r.has('payments')).toBe(true);
    expect(r.names()).toEqual(['payments']);
  });

  it('refuses invalid and reserved names', () => {
    const { registry: r } = registry();
    for (const name of ['', 'a b', 'x'.repeat(129), 'events', 'dashboard', 'reset-all']) {
      expect(() => r.getOrCreate(name)).toThrow(CircuitBreakerConfigError);
    }
    expect(r.names()).toEqual([]);
    expect(() => r.getOrCreate('ok.name:v2_x-y')).not.toThrow();
  });

  it('ignores an HttpException below 500, and still applies the breaker\'s own isFailure', async () => {
    const { registry: r } = registry({ breakers: { a: { isFailure: (e) => !(e instanceof RangeError) } } });
    const breaker = r.getOrCreate('a');
    await breaker.execute(async () => {
      throw new BadRequestException();
    }).catch(() => undefined);
    await breaker.execute(async () => {
      throw new RangeError();
    }).catch(() => undefined);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', total_ignored: 2 });
    await breaker.execute(async () => {
      throw new ServiceUnavailableException();
    }).catch(() => undefined);
    expect(breaker.state).toBe('open');
  });

  it('builds the management snapshot with a summary and a fleet health', async () => {
    const { registry: r } = registry();
    expect(r.snapshot().summary).toEqual({ total_breakers: 0, open: 0, half_open: 0, closed: 0, forced_open: 0, disabled: 0, health: 'healthy' });
    const b = r.getOrCreate('b');
    r.getOrCreate('a');
    await fail(b);
    const snap = r.snapshot();
    expect(Object.keys(snap.breakers)).toEqual(['a', 'b']);
    expect(snap.breakers.b).toMatchObject({ name: 'b', state: 'open', total_failures: 1, time_until_retry: 60 });
    expect(snap.summary).toMatchObject({ total_breakers: 2, open: 1, closed: 1, health: 'degraded' });
    expect(Number.isNaN(Date.parse(snap.timestamp))).toBe(false);
    r.forceOpen('a');
    expect(r.snapshot().summary).toMatchObject({ open: 1, forced_open: 1, health: 'unhealthy' });
  });

  it('resets, forces open and disables by name; an unknown name returns false and creates nothing', async () => {
    const { registry: r } = registry();
    const a = r.getOrCreate('a');
    await fail(a);
    expect(r.reset('a')).toBe(true);
    expect(a.state).toBe('closed');
    expect(r.reset('a')).toBe(true); // known, even when nothing changed
    expect(r.forceOpen('a')).toBe(true);
    expect(a.state).toBe('forced_open');
    expect(r.disable('a')).toBe(true);
    expect(a.state).toBe('disabled');
    r.resetAll();
    expect(a.state).toBe('closed');
    for (const op of ['reset', 'forceOpen', 'disable'] as const) expect(r[op]('nope')).toBe(false);
    expect(r.names()).toEqual(['a']);
  });

  it('creates every breaker disabled when enabled is false', () => {
    const { registry: r } = registry({ enabled: false });
    expect(r.getOrCreate('a').state).toBe('disabled');
  });

  it('streams events of every breaker, created before or after, attaching listeners only while subscribed', async () => {
    const { registry: r } = registry();
    const early = r.getOrCreate('early');
    const baseline = early.listenerCount();
    const seen: CircuitBreakerRegistryEvent[] = [];
    const subscription = r.events$.subscribe((e) => seen.push(e));
    const late = r.getOrCreate('late');
    await early.execute(async () => 'ok');
    await fail(late);
    expect(seen.map((e) => `${e.type}:${e.name}`).sort()).toEqual(['failure:late', 'stateChange:late', 'success:early']);
    expect(seen.find((e) => e.type === 'stateChange')).toMatchObject({ type: 'stateChange', name: 'late', from: 'closed', to: 'open' });
    subscription.unsubscribe();
    expect(early.listenerCount()).toBe(baseline);
    expect(late.listenerCount()).toBe(baseline);
  });

  it('attaches only the listeners of the event types asked for (calls stay untimed)', () => {
    const { registry: r } = registry();
    const a = r.getOrCreate('a');
    const subscription = r.events(['stateChange', 'rejected']).subscribe();
    expect(a.listenerCount('success')).toBe(0);
    expect(a.listenerCount('failure')).toBe(0);
    expect(a.listenerCount('rejected')).toBe(1);
    subscription.unsubscribe();
    expect(a.listenerCount('rejected')).toBe(0);
    expect(() => r.events(['nope' as 'success'])).toThrow(CircuitBreakerConfigError);
  });

  it('tells breaker-created listeners about new breakers until they unsubscribe', () => {
    const { registry: r } = registry();
    const created: string[] = [];
    const off = r.onBreakerCreated((b) => created.push(b.name));
    r.getOrCreate('a');
    off();
    r.getOrCreate('b');
    expect(created).toEqual(['a']);
  });

  it('logs every transition, OPEN at error level, FORCED_OPEN at warn level', async () => {
    const { registry: r } = registry();
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    await fail(r.getOrCreate('openai'));
    expect(error).toHaveBeenCalledWith("CircuitBreaker 'openai': CLOSED → OPEN (threshold reached: 1/1)");
    r.forceOpen('openai');
    expect(warn).toHaveBeenCalledWith("CircuitBreaker 'openai': OPEN → FORCED_OPEN (forced open)");
    r.reset('openai');
    expect(log).toHaveBeenCalledWith("CircuitBreaker 'openai': FORCED_OPEN → CLOSED (manual reset)");
  });

  it('completes event streams and disposes breakers at shutdown', () => {
    const { registry: r } = registry();
    const breaker = r.getOrCreate('a');
    const dispose = jest.spyOn(breaker, 'dispose');
    let completed = false;
    r.events$.subscribe({ complete: () => (completed = true) });
    r.onApplicationShutdown();
    expect(completed).toBe(true);
    expect(dispose).toHaveBeenCalled();
  });
});
