import {
  type Attributes,
  createNoopMeter,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  trace,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Observable } from 'rxjs';
import { type Breaker, CallTimeoutError, CIRCUIT_STATES, CircuitBreakerConfigError, type ConfigProblem, errorKind } from '../core/index.js';
import type { CircuitBreakerRegistryEvent } from '../registry/circuit-breaker.registry.js';
import { OTEL_EXPECTED } from './otel.messages.js';

/** Where the instruments find the breakers: `CircuitBreakerRegistry` is one. */
export interface CircuitBreakerOtelSource {
  names(): Iterable<string>;
  get(name: string): Breaker | undefined;
  events(types: readonly CircuitBreakerRegistryEvent['type'][]): Observable<CircuitBreakerRegistryEvent>;
}

/** Options of `registerCircuitBreakerOtel` (and of `CircuitBreakerOtelModule.forRoot`). */
export interface CircuitBreakerOtelOptions {
  /** where the instruments are created @default the global provider (`metrics.getMeterProvider()`); none registered: no metrics, no cost */
  meterProvider?: MeterProvider;
  /**
   * Turns the span events on. Events go to the active span of the OpenTelemetry context (whichever
   * provider created it). @default on when a global tracer provider is registered, off otherwise
   */
  tracerProvider?: TracerProvider;
  /** told about an error thrown while recording (never thrown into the caller) @default ignored */
  onError?: (error: unknown) => void;
}

/** The instrument names, in the order they are created. */
export const CIRCUIT_BREAKER_OTEL_INSTRUMENTS = [
  'circuit_breaker.state',
  'circuit_breaker.failure_rate',
  'circuit_breaker.slow_call_rate',
  'circuit_breaker.calls',
  'circuit_breaker.call.duration',
  'circuit_breaker.transitions',
] as const;

/** The attribute names. */
export const CIRCUIT_BREAKER_OTEL_ATTRIBUTES = {
  name: 'circuit_breaker.name',
  state: 'circuit_breaker.state',
  outcome: 'circuit_breaker.outcome',
  from: 'circuit_breaker.from',
  to: 'circuit_breaker.to',
  reason: 'circuit_breaker.reason',
  timeUntilRetry: 'circuit_breaker.time_until_retry',
  /** on a fallback event: the name of the error the fallback got */
  error: 'error.type',
} as const;

/** The names of the span events. */
export const CIRCUIT_BREAKER_SPAN_EVENTS = {
  rejected: 'circuit_breaker.rejected',
  fallback: 'circuit_breaker.fallback',
  stateChange: 'circuit_breaker.state_change',
} as const;

/** The duration histogram's bucket boundaries (as OpenTelemetry's HTTP duration histograms use), in seconds. */
export const CIRCUIT_BREAKER_OTEL_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;
const DURATION_BUCKETS_SECONDS = CIRCUIT_BREAKER_OTEL_DURATION_BUCKETS;

const OPTION_KEYS: readonly (keyof CircuitBreakerOtelOptions)[] = ['meterProvider', 'tracerProvider', 'onError'];
const SCOPE = 'nestjs-circuit-breaker';
const A = CIRCUIT_BREAKER_OTEL_ATTRIBUTES;
const NOOP_METER_CLASS = createNoopMeter().constructor;
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

function globalTracingRegistered(): boolean {
  const global = trace.getTracerProvider();
  return !(global instanceof ProxyTracerProvider) || global.getDelegate() !== NOOP_TRACER_PROVIDER;
}

/**
 * Exports the breakers of `registry` to OpenTelemetry (docs/observability.md has the naming map) and
 * returns the function that stops it. Gauges read every breaker's snapshot at collection time, so
 * breakers created before and after are all included; counters and the duration histogram follow the
 * registry's events. Rejections and transitions add an event to the active span. Nothing is attached
 * (no cost on the call path) when neither a meter provider nor a tracer provider is there.
 *
 * @example
 * const stop = registerCircuitBreakerOtel(app.get(CircuitBreakerRegistry), { meterProvider });
 */
export function registerCircuitBreakerOtel(registry: CircuitBreakerOtelSource, options: CircuitBreakerOtelOptions = {}): () => void {
  const problems = [...sourceProblems(registry), ...otelOptionProblems(options)];
  if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  const onError = options.onError ?? (() => undefined);
  const guard = <T>(fn: (event: T) => void) => (event: T): void => {
    try {
      fn(event);
    } catch (error) {
      try {
        onError(error);
      } catch {
        // the error handler's own error must not reach the caller either
      }
    }
  };
  const stops: (() => void)[] = [];

  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  if (!(meter instanceof NOOP_METER_CLASS)) stops.push(registerMetrics(registry, meter, guard));
  if (options.tracerProvider !== undefined || globalTracingRegistered()) stops.push(registerSpanEvents(registry, guard));

  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    for (const stop of stops.splice(0)) stop();
  };
}

type Guard = <T>(fn: (event: T) => void) => (event: T) => void;

function registerMetrics(registry: CircuitBreakerOtelSource, meter: Meter, guard: Guard): () => void {
  const state = meter.createObservableGauge('circuit_breaker.state', {
    description: 'One series per state and breaker: 1 for the current state, 0 for the others',
  });
  const failureRate = meter.createObservableGauge('circuit_breaker.failure_rate', {
    description: 'Failures as a fraction of requests since the last reset (0 when nothing ran)',
    unit: '1',
  });
  const slowCallRate = meter.createObservableGauge('circuit_breaker.slow_call_rate', {
    description: 'Slow calls (slower than slowCallDurationMs) as a fraction of the calls that ran, since the last reset',
    unit: '1',
  });
  const calls = meter.createCounter('circuit_breaker.calls', {
    description: 'Calls through the breaker by outcome: success, failure, timeout, ignored, rejected',
    unit: '{call}',
  });
  const duration = meter.createHistogram('circuit_breaker.call.duration', {
    description: 'Duration of calls that ran (succeeded, failed or timed out)',
    unit: 's',
    // The SDK's default boundaries are meant for milliseconds; these are OpenTelemetry's for durations in seconds.
    advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
  });
  const transitions = meter.createCounter('circuit_breaker.transitions', { description: 'State transitions by from and to state', unit: '{transition}' });

  const collect = guard((result: { observe(metric: typeof state, value: number, attributes?: Attributes): void }) => {
    for (const name of registry.names()) {
      const snap = registry.get(name)?.snapshot();
      if (snap === undefined) continue;
      for (const s of CIRCUIT_STATES) result.observe(state, s === snap.state ? 1 : 0, { [A.name]: name, [A.state]: s });
      result.observe(failureRate, snap.failure_rate / 100, { [A.name]: name });
      const ran = snap.total_successes + snap.total_failures;
      result.observe(slowCallRate, ran === 0 ? 0 : snap.total_slow_calls / ran, { [A.name]: name });
    }
  });
  meter.addBatchObservableCallback(collect, [state, failureRate, slowCallRate]);

  const subscription = registry.events(['success', 'failure', 'ignored', 'rejected', 'stateChange']).subscribe(guard((event: CircuitBreakerRegistryEvent) => {
    switch (event.type) {
      case 'success':
      case 'failure': {
        // A timeout is a failure with the breaker's own CallTimeoutError: counted once, as `timeout`.
        const outcome = event.type === 'success' ? 'success' : event.error instanceof CallTimeoutError ? 'timeout' : 'failure';
        calls.add(1, { [A.name]: event.name, [A.outcome]: outcome });
        // NaN: a call admitted before the listener was attached was not timed.
        if (event.durationMs === event.durationMs) duration.record(event.durationMs / 1000, { [A.name]: event.name, [A.outcome]: outcome });
        break;
      }
      case 'ignored':
      case 'rejected':
        calls.add(1, { [A.name]: event.name, [A.outcome]: event.type });
        break;
      case 'stateChange':
        transitions.add(1, { [A.name]: event.name, [A.from]: event.from, [A.to]: event.to });
        break;
    }
  }));
  return () => {
    subscription.unsubscribe();
    meter.removeBatchObservableCallback(collect, [state, failureRate, slowCallRate]);
  };
}

function registerSpanEvents(registry: CircuitBreakerOtelSource, guard: Guard): () => void {
  // None of these event types makes calls timed: the closed path stays untouched.
  const subscription = registry.events(['rejected', 'fallback', 'stateChange']).subscribe(guard((event: CircuitBreakerRegistryEvent) => {
    const span = trace.getActiveSpan();
    if (span === undefined || !span.isRecording()) return;
    if (event.type === 'rejected' || event.type === 'fallback') {
      const retry = registry.get(event.name)?.snapshot().time_until_retry;
      span.addEvent(CIRCUIT_BREAKER_SPAN_EVENTS[event.type], {
        [A.name]: event.name,
        [A.state]: event.state,
        ...(retry === undefined ? {} : { [A.timeUntilRetry]: retry }),
        ...(event.type === 'fallback' ? { [A.error]: errorKind(event.error) } : {}),
      });
    } else if (event.type === 'stateChange') {
      span.addEvent(CIRCUIT_BREAKER_SPAN_EVENTS.stateChange, {
        [A.name]: event.name,
        [A.from]: event.from,
        [A.to]: event.to,
        [A.reason]: event.reason,
      });
    }
  }));
  return () => subscription.unsubscribe();
}

/** Problems of `CircuitBreakerOtelOptions`; `path` prefixes each problem's path. */
export function otelOptionProblems(options: unknown, path = 'options'): ConfigProblem[] {
  if (options === undefined) return [];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return [{ path, expected: OTEL_EXPECTED.options, value: options }];
  const o = options as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) problems.push({ path: `${path}.${key}`, expected: OTEL_EXPECTED.unknownKey(OPTION_KEYS), value: o[key] });
  }
  const hasMethod = (value: unknown, method: string) => typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[method] === 'function';
  if (o.meterProvider !== undefined && !hasMethod(o.meterProvider, 'getMeter')) problems.push({ path: `${path}.meterProvider`, expected: OTEL_EXPECTED.meterProvider, value: o.meterProvider });
  if (o.tracerProvider !== undefined && !hasMethod(o.tracerProvider, 'getTracer')) problems.push({ path: `${path}.tracerProvider`, expected: OTEL_EXPECTED.tracerProvider, value: o.tracerProvider });
  if (o.onError !== undefined && typeof o.onError !== 'function') problems.push({ path: `${path}.onError`, expected: OTEL_EXPECTED.onError, value: o.onError });
  return problems;
}

function sourceProblems(source: unknown): ConfigProblem[] {
  const s = source as Partial<CircuitBreakerOtelSource> | null;
  const ok = typeof s === 'object' && s !== null && typeof s.names === 'function' && typeof s.get === 'function' && typeof s.events === 'function';
  return ok ? [] : [{ path: 'registry', expected: OTEL_EXPECTED.source, value: source }];
}
