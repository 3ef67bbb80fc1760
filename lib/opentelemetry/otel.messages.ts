// Every user-facing message of the OpenTelemetry entry point.

export const OTEL_EXPECTED = {
  source: 'expected a CircuitBreakerRegistry (an object with names(), get(name) and events(types))',
  options: 'expected an options object { meterProvider?, tracerProvider?, onError? }',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  meterProvider: 'expected an OpenTelemetry MeterProvider (an object with getMeter(name)), e.g. `new MeterProvider(...)` from @opentelemetry/sdk-metrics',
  tracerProvider: 'expected an OpenTelemetry TracerProvider (an object with getTracer(name)), e.g. the provider of @opentelemetry/sdk-trace-base',
  onError: 'expected a function (error) => void',
} as const;

/** Logged (once per registration) when recording a metric or a span event threw. */
export function recordingFailedMessage(what: string): string {
  return `Circuit breaker OpenTelemetry: recording ${what} threw; the call went on unaffected (further errors are not logged).`;
}
