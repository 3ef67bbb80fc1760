// The subjects measured side by side. Each one says how a call through it is written (`expr`, source
// text compiled into the measured function, so that no shared wrapper sits between the benchmark
// loop and the library), and how to build one fresh breaker for a scenario.
//
// A subject's `create(scenario)` returns an instance: `{ S, expr(F), isOpen(e), dispose() }`.
// `S` is the object the call expression uses; `expr('noop')` is e.g. `S.execute(noop)`.

import OpossumBreaker from 'opossum';
import { circuitBreaker, handleAll, ConsecutiveBreaker, SamplingBreaker, BrokenCircuitError } from 'cockatiel';
import { FloorBreaker, FloorOpenError } from './floor.js';
import { ERR, noop } from './measure.js';

/** The rate rules never open at a 10% failure mix; the consecutive rules never see two failures in a row. */
export const COUNT_WINDOW_OPTIONS = Object.freeze({ window: { type: 'count', size: 100 }, failureRateThreshold: 50 });
export const TIME_WINDOW_OPTIONS = Object.freeze({ window: { type: 'time', durationMs: 10_000 }, failureRateThreshold: 50 });
export const HALF_OPEN_AFTER_MS = 60_000;

/**
 * The subjects of the closed / in-flight / open / mix scenarios and of the per-breaker costs.
 * `make(name)` builds one bare breaker for the heap, creation and timer measurements (`destroy` undoes
 * what keeps it alive, `touch` makes one successful call through it); `null` where that makes no sense.
 * `baseline` (optional): another build of the library, measured side by side as `<id>-baseline`.
 */
export function coreSubjects(lib, metrics, baseline) {
  const { Breaker, CircuitBreakerOpenError } = lib;
  const isEngineOpen = (e) => e instanceof CircuitBreakerOpenError;
  const engine = (id, label, options, B = Breaker, isOpen = isEngineOpen, group = 'engine') => ({
    id,
    label,
    group,
    make: (name = 'bench') => new B(name, options),
    touch: (b) => b.execute(noop),
    destroy: (b) => b.dispose(),
    create: () => {
      const b = new B('bench', options);
      return { S: b, expr: (F) => `S.execute(${F})`, isOpen, dispose: () => b.dispose() };
    },
  });
  const baselineEngine = (id, label, options) => {
    if (baseline === undefined) return [];
    const isOpen = (e) => e instanceof baseline.CircuitBreakerOpenError;
    return [engine(`${id}-baseline`, `${label} — baseline build`, options, baseline.Breaker, isOpen, 'baseline')];
  };
  const opossum = (id, label, options) => ({
    id,
    label,
    group: 'opossum',
    make: (name) => new OpossumBreaker(callIt, { ...options, name }),
    touch: (b) => b.fire(noop),
    destroy: (b) => b.shutdown(),
    create: () => {
      const b = new OpossumBreaker(callIt, { ...options });
      return { S: b, expr: (F) => `S.fire(${F})`, isOpen: (e) => e?.code === 'EOPENBREAKER', dispose: () => b.shutdown() };
    },
  });
  const cockatiel = (id, label, makeRule) => ({
    id,
    label,
    group: 'cockatiel',
    make: () => circuitBreaker(handleAll, { halfOpenAfter: HALF_OPEN_AFTER_MS, breaker: makeRule() }),
    touch: (p) => p.execute(noop),
    destroy: () => {},
    create: () => {
      const p = circuitBreaker(handleAll, { halfOpenAfter: HALF_OPEN_AFTER_MS, breaker: makeRule() });
      return { S: p, expr: (F) => `S.execute(${F})`, isOpen: (e) => e instanceof BrokenCircuitError, dispose: () => {} };
    },
  });

  return [
    {
      id: 'bare',
      label: 'bare `await fn()`',
      group: 'bare',
      make: null,
      // When open, the bare subject is the cheapest rejection there is: an async function rejecting
      // with a pre-built error, awaited and caught.
      create: (scenario) => scenario === 'open'
        ? { S: null, expr: () => 'failing()', isOpen: (e) => e === ERR, dispose: () => {} }
        : { S: null, expr: (F) => `${F}()`, isOpen: null, dispose: () => {} },
    },
    {
      id: 'floor',
      label: 'minimal hand-written breaker (floor)',
      group: 'floor',
      make: () => new FloorBreaker(),
      touch: (b) => b.execute(noop),
      destroy: () => {},
      create: () => ({ S: new FloorBreaker(), expr: (F) => `S.execute(${F})`, isOpen: (e) => e instanceof FloorOpenError, dispose: () => {} }),
    },
    engine('engine', 'nestjs-circuit-breaker, consecutive (default)', undefined),
    {
      // The default breaker with the Prometheus metrics registered and the duration histogram fed
      // (the metrics module's default): what a call costs with metrics on.
      id: 'engine-metrics',
      label: 'nestjs-circuit-breaker, consecutive, Prometheus metrics on (duration histogram fed)',
      group: 'engine',
      make: null,
      create: () => {
        const b = new Breaker('bench');
        const source = { names: () => ['bench'], get: (name) => (name === 'bench' ? b : undefined), onBreakerCreated: () => () => {} };
        const unregister = metrics.registerCircuitBreakerMetrics(source, new metrics.Registry(), { observeCallDurations: true });
        return { S: b, expr: (F) => `S.execute(${F})`, isOpen: isEngineOpen, dispose: () => { unregister(); b.dispose(); } };
      },
    },
    engine('engine-count', 'nestjs-circuit-breaker, count window 100, rate 50%', COUNT_WINDOW_OPTIONS),
    engine('engine-time', 'nestjs-circuit-breaker, time window 10 s, rate 50%', TIME_WINDOW_OPTIONS),
    ...baselineEngine('engine', 'nestjs-circuit-breaker, consecutive (default)', undefined),
    ...baselineEngine('engine-count', 'nestjs-circuit-breaker, count window 100, rate 50%', COUNT_WINDOW_OPTIONS),
    ...baselineEngine('engine-time', 'nestjs-circuit-breaker, time window 10 s, rate 50%', TIME_WINDOW_OPTIONS),
    opossum('opossum', 'opossum 10, defaults', {}),
    opossum('opossum-nt', 'opossum 10, `timeout: false`', { timeout: false }),
    cockatiel('cockatiel', 'cockatiel 4, ConsecutiveBreaker(5)', () => new ConsecutiveBreaker(5)),
    cockatiel('cockatiel-sampling', 'cockatiel 4, SamplingBreaker 50% / 10 s', () => new SamplingBreaker({ threshold: 0.5, duration: 10_000 })),
  ];
}

/**
 * The subjects of the failure-cost scenario: each holds `size` calls in its window, and never opens
 * while failures alternate with successes.
 */
export function windowSubjects(lib) {
  const { Breaker } = lib;
  const engine = (id, label, optionsFor) => ({
    id,
    label,
    create: (size) => {
      const b = new Breaker('bench', optionsFor(size));
      return { S: b, expr: (F) => `S.execute(${F})`, dispose: () => b.dispose() };
    },
  });
  return [
    { id: 'bare', label: 'bare `await fn()` (no breaker, no window)', create: () => ({ S: null, expr: (F) => `${F}()`, dispose: () => {} }) },
    { id: 'floor', label: 'floor (no window)', create: () => ({ S: new FloorBreaker(), expr: (F) => `S.execute(${F})`, dispose: () => {} }) },
    engine('engine-count', 'nestjs-circuit-breaker, count window of N, rate 100%', (size) => ({
      window: { type: 'count', size },
      failureRateThreshold: 100,
    })),
    engine('engine-time', 'nestjs-circuit-breaker, time window 10 min holding N, rate 100%', () => ({
      window: { type: 'time', durationMs: 600_000 },
      failureRateThreshold: 100,
    })),
    {
      id: 'opossum-nt',
      label: 'opossum 10, `timeout: false`, rolling window 10 min holding N',
      create: () => {
        // errorThresholdPercentage 100 never opens (opossum opens on a rate strictly above it).
        const b = new OpossumBreaker(callIt, { timeout: false, rollingCountTimeout: 600_000, errorThresholdPercentage: 100 });
        return { S: b, expr: (F) => `S.fire(${F})`, dispose: () => b.shutdown() };
      },
    },
    {
      id: 'cockatiel-sampling',
      label: 'cockatiel 4, SamplingBreaker 99% / 10 min holding N',
      create: () => {
        const p = circuitBreaker(handleAll, { halfOpenAfter: HALF_OPEN_AFTER_MS, breaker: new SamplingBreaker({ threshold: 0.99, duration: 600_000 }) });
        return { S: p, expr: (F) => `S.execute(${F})`, dispose: () => {} };
      },
    },
  ];
}

/** opossum binds its action at construction: the action calls the function it is fired with. */
function callIt(fn) {
  return fn();
}
