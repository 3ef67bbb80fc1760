import { describe, expect, it, jest } from '@jest/globals';
import { BadRequestException, Logger, ServiceUnavailableException } from '@nestjs/common';
import { type Breaker, CircuitBreakerConfigError, CircuitBreakerError } from '../core/index.js';
import { InjectCircuitBreaker } from '../decorators/inject-circuit-breaker.decorator.js';
import { circuitBreakerConfigFromEnv } from '../options/env.config.js';
import type { CircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { resolveModuleOptions } from '../options/module-options.js';
import { FakeClock } from '../testing/fake-clock.js';
import type { CircuitBreakerStore } from '../store/index.js';
import { CircuitBreakerRegistry, type CircuitBreakerRegistryEvent, type DeclaredBreakerOptions } from './circuit-breaker.registry.js';
import { CircuitBreakerLimitError, CircuitBreakerNameError } from './registry.errors.js';

function registry(options: CircuitBreakerModuleOptions = {}, declared: Record<string, object> = {}, declarations: Partial<DeclaredBreakerOptions> = {}) {
  const clock = new FakeClock();
  const r = new CircuitBreakerRegistry(
    resolveModuleOptions({ ...options, defaults: { clock, failureThreshold: 1, ...options.defaults } }),
    { optionsFor: (name) => declared[name], ...declarations },
  );
  return { registry: r, clock };
}

/** A store that records attachments and detaches; `release()` settles the attachments made so far. */
function recordingStore() {
  const attached: string[] = [];
  const detached: string[] = [];
  const pending: (() => void)[] = [];
  const store: CircuitBreakerStore = {
    attach: (breaker) => {
      attached.push(breaker.name);
      return new Promise((resolve) => pending.push(() => resolve(() => detached.push(breaker.name))));
    },
    close: async () => undefined,
  };
  const release = async () => {
    for (const settle of pending.splice(0)) settle();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { store, attached, detached, release };
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

  it('refuses invalid and reserved names with a CircuitBreakerNameError (a config error, as before)', () => {
    const { registry: r } = registry();
    for (const name of ['', 'a b', 'x'.repeat(129), 'events', 'dashboard', 'reset-all', 'Events', undefined, ['a']]) {
      expect(() => r.getOrCreate(name as string)).toThrow(CircuitBreakerNameError);
      expect(() => r.getOrCreate(name as string)).toThrow(CircuitBreakerConfigError);
    }
    expect(r.names()).toEqual([]);
    expect(() => r.getOrCreate('ok.name:v2_x-y')).not.toThrow();
  });

  it('names the rule and quotes at most 40 characters of a rejected name', () => {
    const { registry: r } = registry();
    const name = 'é'.repeat(200);
    const error = (() => {
      try {
        r.getOrCreate(name);
      } catch (e) {
        return e as CircuitBreakerNameError;
      }
      throw new Error('getOrCreate accepted the name');
    })();
    expect(error.message).toBe(`Invalid circuit breaker name "${'é'.repeat(40)}…" (200 characters): expected a breaker name matching /^[A-Za-z0-9._:-]{1,128}$/`);
    expect(error.value).toBe(name);
    expect(error.problems).toHaveLength(1);
    expect(() => r.getOrCreate('dashboard')).toThrow('Invalid circuit breaker name "dashboard": is reserved for the management API');
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

  describe('maxBreakers', () => {
    it('refuses a new name at the limit with a CircuitBreakerLimitError and leaves the others untouched', async () => {
      const { registry: r } = registry({ maxBreakers: 2 });
      const a = r.getOrCreate('a');
      await fail(a);
      r.getOrCreate('b');
      let error: unknown;
      try {
        r.getOrCreate('c');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CircuitBreakerLimitError);
      expect(error).toBeInstanceOf(CircuitBreakerError);
      expect(error).toMatchObject({ code: 'BREAKER_LIMIT', breakerName: 'c', maxBreakers: 2 });
      expect((error as Error).message).toContain("Circuit breaker 'c' was not created: the registry holds maxBreakers (2) breakers already");
      expect(r.names()).toEqual(['a', 'b']);
      expect(r.getOrCreate('a')).toBe(a);
      expect(a.state).toBe('open');
      // An invalid name is still a name error at the limit, not a limit error.
      expect(() => r.getOrCreate('a b')).toThrow(CircuitBreakerNameError);
    });

    it('counts the configured breakers', () => {
      const { registry: r } = registry({ maxBreakers: 2, breakers: { payments: {}, search: {} } });
      r.onModuleInit();
      expect(r.names()).toEqual(['payments', 'search']);
      expect(() => r.getOrCreate('tenant-1')).toThrow(CircuitBreakerLimitError);
    });

    it('fails the boot when the configured breakers alone exceed it, and refuses values that are not integers >= 1', () => {
      expect(() => resolveModuleOptions({ maxBreakers: 1, breakers: { payments: {}, search: {} } }))
        .toThrow('maxBreakers: expected at least the 2 breakers configured in `breakers` (each key is a breaker from boot), received 1');
      expect(() => resolveModuleOptions({ maxBreakers: 2, breakers: { payments: {}, search: {} } })).not.toThrow();
      for (const value of [0, -1, 1.5, '10', Number.NaN, Infinity, null]) {
        expect(() => resolveModuleOptions({ maxBreakers: value as number })).toThrow(`maxBreakers: expected an integer >= 1 (or no maxBreakers for no limit), received ${value === '10' ? '"10"' : String(value)}`);
      }
      expect(resolveModuleOptions({}).maxBreakers).toBeUndefined();
    });

    it('warns once when 90 % of it is reached, and again only after falling below', () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      warn.mockClear();
      const { registry: r } = registry({ maxBreakers: 10 });
      const nearLimit = () => warn.mock.calls.filter(([message]) => String(message).includes('of maxBreakers 10'));
      for (let i = 1; i <= 8; i++) r.getOrCreate(`t${i}`);
      expect(nearLimit()).toEqual([]);
      r.getOrCreate('t9');
      expect(nearLimit()).toEqual([['9 circuit breakers of maxBreakers 10 exist (at least 90 % of the limit): getOrCreate of a new name fails once there are 10. '
        + 'Remove dynamic breakers no longer used with registry.remove(name), or raise maxBreakers']]);
      r.getOrCreate('t10');
      r.remove('t10'); // 9: still at 90 %
      r.getOrCreate('t10');
      expect(nearLimit()).toHaveLength(1);
      r.remove('t10');
      r.remove('t9'); // 8: below
      r.getOrCreate('t9');
      expect(nearLimit()).toHaveLength(2);
    });
  });

  describe('remove()', () => {
    it('removes a dynamic breaker from names, get, has and the snapshot; false for an unknown name', () => {
      const { registry: r } = registry();
      r.getOrCreate('tenant-1');
      r.getOrCreate('tenant-2');
      expect(r.remove('tenant-1')).toBe(true);
      expect(r.names()).toEqual(['tenant-2']);
      expect(r.get('tenant-1')).toBeUndefined();
      expect(r.has('tenant-1')).toBe(false);
      expect(Object.keys(r.snapshot().breakers)).toEqual(['tenant-2']);
      expect(r.snapshot().summary.total_breakers).toBe(1);
      expect(r.remove('tenant-1')).toBe(false);
      expect(r.remove('nope')).toBe(false);
    });

    it('detaches every listener the registry attached, and the event streams hear no more of it', async () => {
      const { registry: r } = registry();
      const seen: string[] = [];
      const all = r.events$.subscribe((e) => seen.push(`${e.type}:${e.name}`));
      const some = r.events(['stateChange']).subscribe();
      const breaker = r.getOrCreate('tenant-1');
      expect(breaker.listenerCount()).toBeGreaterThan(1);
      r.remove('tenant-1');
      expect(breaker.listenerCount()).toBe(0);
      await fail(breaker);
      expect(seen).toEqual([]);
      // unsubscribing afterwards touches nothing of it
      all.unsubscribe();
      some.unsubscribe();
      expect(breaker.listenerCount()).toBe(0);
    });

    it('lets a call in flight settle on the removed breaker, and disposes it', async () => {
      const { registry: r } = registry();
      const breaker = r.getOrCreate('tenant-1');
      const dispose = jest.spyOn(breaker, 'dispose');
      let finish!: (value: string) => void;
      const call = breaker.execute(() => new Promise<string>((resolve) => (finish = resolve)));
      r.remove('tenant-1');
      expect(dispose).toHaveBeenCalled();
      finish('done');
      await expect(call).resolves.toBe('done');
      expect(breaker.snapshot().total_successes).toBe(1);
      expect(r.names()).toEqual([]);
    });

    it('makes a fresh breaker on a later getOrCreate of the same name', async () => {
      const { registry: r } = registry();
      const old = r.getOrCreate('tenant-1');
      await fail(old);
      r.remove('tenant-1');
      const fresh = r.getOrCreate('tenant-1');
      expect(fresh).not.toBe(old);
      expect(fresh.state).toBe('closed');
      expect(fresh.snapshot().total_failures).toBe(0);
      expect(r.names()).toEqual(['tenant-1']);
    });

    it('refuses configured, decorated and injected names, which the application declares', () => {
      class UsesInjected {}
      InjectCircuitBreaker('injected-in-spec')(UsesInjected, undefined, 0);
      const { registry: r } = registry(
        { breakers: { payments: {}, ...circuitBreakerConfigFromEnv({ CIRCUIT_BREAKER__TENANT_ENV__FAILURE_THRESHOLD: '3' }).breakers } },
        {},
        { declaredNames: () => new Map([['decorated', 'Payments.charge']]) },
      );
      r.onModuleInit();
      for (const name of ['decorated', 'injected-in-spec']) r.getOrCreate(name);
      expect(() => r.remove('payments')).toThrow("Circuit breaker 'payments' cannot be removed: the application declares it (a `breakers` key). "
        + 'remove() removes only breakers that getOrCreate created for a dynamic name');
      expect(() => r.remove('decorated')).toThrow('(@CircuitBreaker on Payments.charge)');
      expect(() => r.remove('injected-in-spec')).toThrow('(@InjectCircuitBreaker)');
      expect(r.names()).toEqual(['decorated', 'injected-in-spec', 'payments']);
      // an environment entry configures the breaker it matches; it declares none
      r.getOrCreate('tenant.env');
      expect(r.remove('tenant.env')).toBe(true);
    });

    it('tells breaker-removed listeners, and keeps going when one throws', () => {
      const { registry: r } = registry();
      const removed: string[] = [];
      r.onBreakerRemoved(() => {
        throw new Error('listener bug');
      });
      const off = r.onBreakerRemoved((b) => removed.push(b.name));
      r.getOrCreate('a');
      r.getOrCreate('b');
      expect(r.remove('a')).toBe(true);
      off();
      r.remove('b');
      expect(removed).toEqual(['a']);
    });

    it('detaches it from the store once attached; a fresh breaker of the name attaches after that', async () => {
      const { store, attached, detached, release } = recordingStore();
      const { registry: r } = registry({ store });
      r.getOrCreate('tenant-1');
      r.remove('tenant-1');
      r.getOrCreate('tenant-1');
      expect(attached).toEqual(['tenant-1']); // the second waits for the first's detach
      await release();
      expect(detached).toEqual(['tenant-1']);
      expect(attached).toEqual(['tenant-1', 'tenant-1']);
      await release();
      await r.onApplicationBootstrap();
      await r.onApplicationShutdown();
      expect(detached).toEqual(['tenant-1', 'tenant-1']);
    });
  });
});
