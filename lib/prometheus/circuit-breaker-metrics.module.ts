import {
  ConfigurableModuleBuilder,
  Controller,
  Get,
  Header,
  Inject,
  Injectable,
  Module,
  type OnModuleDestroy,
  Optional,
  type OnModuleInit,
  StreamableFile,
  type Type,
} from '@nestjs/common';
import { register as defaultPromRegistry, type Registry } from 'prom-client';
import { CircuitBreakerConfigError, type ConfigProblem } from '../core/index.js';
import { CIRCUIT_BREAKER_METRICS_OPTIONS } from '../constants.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { type CircuitBreakerMetricsOptions, metricsOptionProblems, promRegistryProblems, registerCircuitBreakerMetrics } from './circuit-breaker-metrics.js';
import { METRICS_EXPECTED } from './metrics.messages.js';
import { circuitBreakerMetricsStream } from './metrics-text.js';

/** Options of `CircuitBreakerMetricsModule.forRoot()`. */
export interface CircuitBreakerMetricsModuleOptions extends CircuitBreakerMetricsOptions {
  /** the prom-client registry to register on @default prom-client's default `register` */
  registry?: Registry;
  /**
   * Serve the whole prom-client registry at `GET /<path>` (e.g. `'metrics'`), the circuit breaker
   * metrics streamed in slices so that a scrape of thousands of breakers never holds up other requests
   * (docs/operations.md). Without it, serve `await registry.metrics()` yourself. `forRoot` only: the
   * route is mounted when the module is declared, so `forRootAsync` cannot take it. @default none
   */
  path?: string;
}

/** The path `forRoot({ path })` mounted the route at; absent without one (and with `forRootAsync`). */
const MOUNTED_PATH = Symbol('CIRCUIT_BREAKER_METRICS_MOUNTED_PATH');

/** A route path: letters, digits and `-._~/`, not starting with `//`. */
const PATH = /^\/?(?!\/)[A-Za-z0-9\-._~/]+$/;

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE } = new ConfigurableModuleBuilder<CircuitBreakerMetricsModuleOptions>({
  moduleName: 'CircuitBreakerMetrics',
  optionsInjectionToken: CIRCUIT_BREAKER_METRICS_OPTIONS,
})
  .setClassMethodName('forRoot')
  .build();

function moduleOptionProblems(options: unknown, mountedPath: string | undefined): ConfigProblem[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return metricsOptionProblems(options, 'CircuitBreakerMetricsModule options');
  const { registry, path, ...rest } = options as CircuitBreakerMetricsModuleOptions;
  return [
    ...(registry === undefined ? [] : promRegistryProblems(registry, 'registry')),
    // forRoot checked and mounted its path; one that arrives from a forRootAsync factory mounts nothing.
    ...(path === undefined || path === mountedPath ? [] : [{ path: 'path', expected: METRICS_EXPECTED.pathNotAsync, value: path }]),
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
    @Optional() @Inject(MOUNTED_PATH) private readonly mountedPath?: string,
  ) {}

  onModuleInit(): void {
    const problems = moduleOptionProblems(this.options, this.mountedPath);
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
    const { registry, path: _path, ...options } = this.options;
    this.unregister = registerCircuitBreakerMetrics(this.circuitBreakers, registry, options);
  }

  onModuleDestroy(): void {
    this.unregister?.();
    this.unregister = null;
  }
}

/** The `GET /<path>` route of `CircuitBreakerMetricsModule.forRoot({ path })`. */
function metricsControllers(path: string): Type[] {
  @Controller(path)
  class CircuitBreakerMetricsController {
    constructor(@Inject(MODULE_OPTIONS_TOKEN) private readonly options: CircuitBreakerMetricsModuleOptions) {}

    /** The registry's text (Prometheus format), the circuit breaker metrics streamed in slices. */
    @Get()
    @Header('Cache-Control', 'no-store')
    scrape(): StreamableFile {
      const registry = this.options.registry ?? defaultPromRegistry;
      return new StreamableFile(circuitBreakerMetricsStream(registry), { type: registry.contentType });
    }
  }
  return [CircuitBreakerMetricsController];
}

/**
 * Prometheus metrics of the application's breakers (entry point `nestjs-circuit-breaker/prometheus`,
 * optional peer `prom-client`). Needs `CircuitBreakerModule` registered globally (its default).
 *
 * @example
 * imports: [CircuitBreakerModule.forRoot(), CircuitBreakerMetricsModule.forRoot({ path: 'metrics' })]
 * // GET /metrics serves prom-client's registry; without `path`, serve `await register.metrics()` yourself
 */
@Module({ providers: [CircuitBreakerMetricsCollector] })
export class CircuitBreakerMetricsModule extends ConfigurableModuleClass {
  /** @param options `{ registry?, path?, observeCallDurations?, buckets? }` (default: prom-client's default registry) */
  static override forRoot(options: typeof OPTIONS_TYPE = {}) {
    const module = super.forRoot(options);
    const path = typeof options === 'object' && options !== null ? options.path : undefined;
    if (path === undefined) return module;
    if (typeof path !== 'string' || !PATH.test(path)) throw new CircuitBreakerConfigError([{ path: 'CircuitBreakerMetricsModule options.path', expected: METRICS_EXPECTED.path, value: path }]);
    return { ...module, controllers: metricsControllers(path), providers: [...(module.providers ?? []), { provide: MOUNTED_PATH, useValue: path }] };
  }
}
