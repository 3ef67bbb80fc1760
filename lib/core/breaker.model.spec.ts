import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker, type BreakerPermit } from './breaker.js';
import { CircuitBreakerOpenError } from './errors.js';

/**
 * Model-based test: random sequences of calls (settled at once or later, in any order), outcomes,
 * clock steps and manual actions run against the engine and against a deliberately naive reference
 * model of the state machine (docs/architecture.md); state and counters must agree after every step.
 */

interface Config {
  failureThreshold: number;
  resetTimeoutMs: number;
  halfOpenMaxCalls: number;
  successThreshold: number;
  halfOpenTimeoutMs: number;
}

type Outcome = 'success' | 'failure' | 'ignore';

class Model {
  state = 'closed';
  gen = 0;
  run = 0;
  openUntil = 0;
  probes = 0;
  probeOk = 0;
  activity = 0;
  now = 0;
  successes = 0;
  failures = 0;
  rejections = 0;
  ignored = 0;
  /** generation of each pending call, by id */
  pending = new Map<number, number>();

  constructor(readonly c: Config) {}

  refresh() {
    if (this.state === 'open' && this.now >= this.openUntil) this.change('half_open');
    else if (this.state === 'half_open' && this.probes > 0 && this.now - this.activity >= this.c.halfOpenTimeoutMs) this.open();
  }

  change(to: string) {
    this.state = to;
    this.gen++;
    this.run = 0;
    this.probes = 0;
    this.probeOk = 0;
    this.activity = this.now;
  }

  open() {
    this.openUntil = this.now + this.c.resetTimeoutMs;
    this.change('open');
  }

  /** generation of the admitted call, or null when rejected */
  acquire(): number | null {
    this.refresh();
    if (this.state === 'open' || this.state === 'forced_open') {
      this.rejections++;
      return null;
    }
    if (this.state === 'half_open') {
      if (this.probes >= this.c.halfOpenMaxCalls) {
        this.rejections++;
        return null;
      }
      this.probes++;
      this.activity = this.now;
    }
    return this.gen;
  }

  settle(gen: number, outcome: Outcome) {
    const current = gen === this.gen;
    if (outcome === 'ignore') {
      this.ignored++;
      if (current && this.state === 'half_open') this.probes--;
      return;
    }
    if (outcome === 'success') {
      this.successes++;
      if (!current) return;
      if (this.state === 'closed') this.run = 0;
      if (this.state === 'half_open') {
        this.probes--;
        this.activity = this.now;
        if (++this.probeOk >= this.c.successThreshold) this.change('closed');
      }
      return;
    }
    this.failures++;
    if (!current) return;
    if (this.state === 'closed' && ++this.run >= this.c.failureThreshold) this.open();
    else if (this.state === 'half_open') this.open();
  }

  reset() {
    this.successes = this.failures = this.rejections = this.ignored = 0;
    if (this.state !== 'closed') this.change('closed');
    else {
      this.gen++;
      this.run = 0;
    }
  }
}

interface Real {
  breaker: Breaker;
  clock: FakeClock;
  permits: Map<number, BreakerPermit>;
  nextId: number;
}

type Cmd = fc.Command<Model, Real>;

function expectAgreement(m: Model, r: Real) {
  m.refresh();
  const snap = r.breaker.snapshot();
  expect({
    state: snap.state,
    failure_count: snap.failure_count,
    total_successes: snap.total_successes,
    total_failures: snap.total_failures,
    total_rejections: snap.total_rejections,
    total_ignored: snap.total_ignored,
  }).toEqual({
    state: m.state,
    failure_count: m.state === 'closed' ? m.run : 0,
    total_successes: m.successes,
    total_failures: m.failures,
    total_rejections: m.rejections,
    total_ignored: m.ignored,
  });
}

function settleReal(permit: BreakerPermit, outcome: Outcome) {
  if (outcome === 'success') permit.success();
  else if (outcome === 'failure') permit.failure(new Error('boom'));
  else permit.ignore();
}

class CallNow implements Cmd {
  constructor(readonly outcome: Outcome) {}
  check = () => true;
  run(m: Model, r: Real) {
    const gen = m.acquire();
    let permit: BreakerPermit | undefined;
    try {
      permit = r.breaker.tryAcquire();
    } catch (e) {
      expect(e).toBeInstanceOf(CircuitBreakerOpenError);
    }
    expect(permit !== undefined).toBe(gen !== null);
    if (gen !== null && permit) {
      m.settle(gen, this.outcome);
      settleReal(permit, this.outcome);
    }
    expectAgreement(m, r);
  }
  toString = () => `callNow(${this.outcome})`;
}

class StartCall implements Cmd {
  check = () => true;
  run(m: Model, r: Real) {
    const id = r.nextId++;
    const gen = m.acquire();
    let permit: BreakerPermit | undefined;
    try {
      permit = r.breaker.tryAcquire();
    } catch {
      // rejected
    }
    expect(permit !== undefined).toBe(gen !== null);
    if (gen !== null && permit) {
      m.pending.set(id, gen);
      r.permits.set(id, permit);
    }
    expectAgreement(m, r);
  }
  toString = () => 'startCall';
}

class SettleCall implements Cmd {
  constructor(readonly pick: number, readonly outcome: Outcome) {}
  check = (m: Model) => m.pending.size > 0;
  run(m: Model, r: Real) {
    const ids = [...m.pending.keys()];
    const id = ids[this.pick % ids.length]!;
    m.settle(m.pending.get(id)!, this.outcome);
    m.pending.delete(id);
    settleReal(r.permits.get(id)!, this.outcome);
    r.permits.delete(id);
    expectAgreement(m, r);
  }
  toString = () => `settle(${this.pick}, ${this.outcome})`;
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.advance(this.ms);
    expectAgreement(m, r);
  }
  toString = () => `advance(${this.ms})`;
}

class Manual implements Cmd {
  constructor(readonly action: 'reset' | 'forceOpen' | 'disable') {}
  check = () => true;
  run(m: Model, r: Real) {
    m.refresh();
    if (this.action === 'reset') m.reset();
    else {
      const to = this.action === 'forceOpen' ? 'forced_open' : 'disabled';
      if (m.state !== to) m.change(to);
    }
    r.breaker[this.action]();
    expectAgreement(m, r);
  }
  toString = () => this.action;
}

const outcome = fc.constantFrom<Outcome>('success', 'success', 'failure', 'failure', 'ignore');
const commands = [
  outcome.map((o) => new CallNow(o)),
  fc.constant(new StartCall()),
  fc.tuple(fc.nat(), outcome).map(([p, o]) => new SettleCall(p, o)),
  fc.integer({ min: 0, max: 150 }).map((ms) => new Advance(ms)),
  fc.constantFrom('reset', 'forceOpen', 'disable').map((a) => new Manual(a as 'reset' | 'forceOpen' | 'disable')),
];
const configs = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 4 }),
  resetTimeoutMs: fc.integer({ min: 1, max: 100 }),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  successThreshold: fc.integer({ min: 1, max: 3 }),
  halfOpenTimeoutMs: fc.integer({ min: 1, max: 200 }),
});

describe('Breaker against a reference model', () => {
  it('agrees on state and counters after every step', () => {
    fc.assert(
      fc.property(configs, fc.commands(commands, { maxCommands: 80 }), (config, cmds) => {
        const clock = new FakeClock();
        const breaker = new Breaker('model', { ...config, clock });
        fc.modelRun(() => ({ model: new Model(config), real: { breaker, clock, permits: new Map(), nextId: 0 } }), cmds);
      }),
      { numRuns: 400 },
    );
  });
});
