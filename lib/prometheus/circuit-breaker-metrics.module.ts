import { ConfigurableModuleBuilder, Inject, Injectable, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { CircuitBreakerConfigError, type ConfigProblem } from '../core/index.js';
import { CIRCUIT_BREAKER_METRICS_OPTIONS } from '../constants.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { type CircuitBreakerMetricsOptions, metricsOptionProblems, promRegistryProblems, registerCircuitBreakerMetrics } from './circuit-breaker-metrics.js';

/** Options of `CircuitBreakerMetricsModule.forRoot()`. */
export interface CircuitBreakerMetricsModuleOptions extends CircuitBreakerMetricsOptions {
  /** the prom-client registry to register on @default prom-client's default `register` */
  registry?: Registry;
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE } = new ConfigurableModuleBuilder<CircuitBreakerMetricsModuleOptions>({
  moduleName: 'CircuitBreakerMetrics',
  optionsInjectionToken: CIRCUIT_BREAKER_METRICS_OPTIONS,
})
  .setClassMethodName('forRoot')
  .build();

function moduleOptionProblems(options: unknown): ConfigProblem[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return metricsOptionProblems(options, 'CircuitBreakerMetricsModule options');
  const { registry, ...rest } = options as CircuitBreakerMetricsModuleOptions;
  return [
    ...(registry === undefined ? [] : promRegistryProblems(registry, 'registry')),
    ...metricsOptionProblems(rest, 'CircuitBreakerMetricsModule options').map((p) => ({ ...p, path: p.path.replace('CircuitBreakerMetricsModule options.', '') })),
  ];
}

/** Registers the collectors when the module starts and removes them when the application closes. */
@Injectable()
export class CircuitBreakerMetricsCollector implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;

  constructor(
    private readonly circuitBreakers: CircuitBreakerRegistry,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: CircuitBreakerMetricsModuleOptions,
  ) {}

  onModuleInit(): void {
    const problems = moduleOptionProblems(this.options);
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
    const { registry, ...options } = this.options;
    this.unregister = registerCircuitBreakerMetrics(this.circuitBreakers, registry, options);
  }

  onModuleDestroy(): void {
    this.unregister?.();
    this.unregister = null;
  }
}

/**
 * Prometheus metrics of the application's breakers (entry point `nestjs-circuit-breaker/prometheus`,
 * optional peer `prom-client`). Needs `CircuitBreakerModule` registered globally (its default).
 *
 * @example
 * imports: [CircuitBreakerModule.forRoot(), CircuitBreakerMetricsModule.forRoot()]
 * // then serve `await register.metrics()` (prom-client) on GET /metrics
 */
@Module({ providers: [CircuitBreakerMetricsCollector] })
export class CircuitBreakerMetricsModule extends ConfigurableModuleClass {
  /** @param options `{ registry?, observeCallDurations?, buckets? }` (default: prom-client's default registry) */
  static override forRoot(options: typeof OPTIONS_TYPE = {}) {
    return super.forRoot(options);
  }
}
