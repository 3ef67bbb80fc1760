// Every user-facing message of the Prometheus metrics.

export const METRICS_EXPECTED = {
  source: 'expected a CircuitBreakerRegistry (an object with names() and get(name))',
  promRegistry: 'expected a prom-client Registry (e.g. `new Registry()` from prom-client, or its default `register`)',
  options: 'expected an options object { observeCallDurations?, buckets? }',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  boolean: 'expected true or false',
  buckets: 'expected a non-empty array of finite numbers > 0 in increasing order (seconds)',
  path: "expected a route path such as 'metrics' or 'internal/metrics' (letters, digits and -._~/)",
  pathNotAsync: 'expected no path from a forRootAsync factory: the route is mounted when the module is declared, so give it to CircuitBreakerMetricsModule.forRoot({ path }), or serve the registry yourself',
  onBreakerCreated: 'expected a registry with onBreakerCreated(listener), to time the calls of breakers created later (observeCallDurations: true)',
} as const;

/** Registering the collectors a second time on one prom-client registry. */
export function alreadyRegisteredMessage(metricName: string): string {
  return `Circuit breaker metrics cannot be registered: this prom-client registry already holds a metric named '${metricName}'. `
    + 'Register them once per prom-client registry; two applications in one process need a registry each, '
    + 'e.g. CircuitBreakerMetricsModule.forRoot({ registry: new Registry() }).';
}
