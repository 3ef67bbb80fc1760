import { type DynamicModule, Injectable, Module } from '@nestjs/common';
import { type Breaker, CircuitBreakerConfigError } from '../core/index.js';
import { CIRCUIT_BREAKER_QUIET_TRANSITIONS } from '../constants.js';
import { CircuitBreakerModule } from '../module/circuit-breaker.module.js';
import type { CircuitBreakerModuleExtras, CircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { FakeClock } from './fake-clock.js';

/** Options of {@link CircuitBreakerTestingModule.forRoot}: the module's, plus what a test needs. */
export interface CircuitBreakerTestingOptions extends CircuitBreakerModuleOptions, Partial<CircuitBreakerModuleExtras> {
  /** the clock of every breaker @default a new `FakeClock` at 0 */
  clock?: FakeClock;
  /** log state changes as the application does @default false (tests stay quiet) */
  logTransitions?: boolean;
}

/** How many failing calls {@link CircuitBreakerTesting.open} records at most before giving up. */
const MAX_TRIP_CALLS = 100_000;

const tripError = (): Error => new Error('opened by CircuitBreakerTesting.open()');

/**
 * Drives the application's breakers in a test: one fake clock for all of them, and the states a
 * test wants, reached the way production reaches them (real failures, real timeouts).
 */
@Injectable()
export class CircuitBreakerTesting {
  constructor(
    readonly registry: CircuitBreakerRegistry,
    readonly clock: FakeClock,
  ) {}

  /** The breaker `name`; throws when the application has none of that name (nothing is created). */
  breaker(name: string): Breaker {
    const breaker = this.registry.get(name);
    if (breaker === undefined) {
      throw new CircuitBreakerConfigError([{ path: 'CircuitBreakerTesting breaker(name)', expected: `the name of a breaker of the application (known: ${this.registry.names().join(', ') || 'none'})`, value: name }]);
    }
    return breaker;
  }

  /** Records failures on `name` until it opens (its own rules decide how many). */
  async open(name: string): Promise<Breaker> {
    const breaker = this.breaker(name);
    for (let i = 0; i < MAX_TRIP_CALLS && breaker.state !== 'open'; i++) {
      if (breaker.state !== 'closed' && breaker.state !== 'half_open') break;
      await breaker.execute(() => Promise.reject(tripError())).catch(() => undefined);
    }
    if (breaker.state !== 'open') throw new Error(`CircuitBreakerTesting.open('${name}'): the breaker is ${breaker.state}, not open`);
    return breaker;
  }

  /** Opens `name`, then moves the clock past its reset timeout: the next call is its probe. */
  async halfOpen(name: string): Promise<Breaker> {
    const breaker = await this.open(name);
    this.clock.advance(breaker.options.resetTimeoutMs);
    return breaker;
  }

  /** Back to closed with statistics cleared. */
  close(name: string): Breaker {
    const breaker = this.breaker(name);
    breaker.reset();
    return breaker;
  }

  /** Moves the shared clock forward. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }
}

/**
 * `CircuitBreakerModule.forRoot` for tests: every breaker on one `FakeClock` (unless a breaker sets
 * its own), state changes not logged, and a `CircuitBreakerTesting` provider to drive breakers.
 * Remember `await app.init()` (or `moduleRef.init()`): decorated methods are wrapped at init, and
 * run unprotected before it.
 *
 * @example
 * const moduleRef = await Test.createTestingModule({
 *   imports: [CircuitBreakerTestingModule.forRoot({ breakers: { payments: { failureThreshold: 2 } } })],
 *   providers: [PaymentService],
 * }).compile();
 * await moduleRef.init();
 * const breakers = moduleRef.get(CircuitBreakerTesting);
 * await breakers.open('payments');
 */
@Module({})
export class CircuitBreakerTestingModule {
  static forRoot(options: CircuitBreakerTestingOptions = {}): DynamicModule {
    const { clock = new FakeClock(), logTransitions = false, ...moduleOptions } = options;
    if (!(clock instanceof FakeClock)) {
      throw new CircuitBreakerConfigError([{ path: 'CircuitBreakerTestingModule.forRoot clock', expected: 'a FakeClock from nestjs-circuit-breaker/testing', value: clock }]);
    }
    return {
      module: CircuitBreakerTestingModule,
      global: true,
      imports: [CircuitBreakerModule.forRoot({ ...moduleOptions, defaults: { clock, ...moduleOptions.defaults } })],
      providers: [
        { provide: FakeClock, useValue: clock },
        { provide: CIRCUIT_BREAKER_QUIET_TRANSITIONS, useValue: !logTransitions },
        { provide: CircuitBreakerTesting, inject: [CircuitBreakerRegistry, FakeClock], useFactory: (registry: CircuitBreakerRegistry, c: FakeClock) => new CircuitBreakerTesting(registry, c) },
      ],
      exports: [FakeClock, CIRCUIT_BREAKER_QUIET_TRANSITIONS, CircuitBreakerTesting],
    };
  }
}

