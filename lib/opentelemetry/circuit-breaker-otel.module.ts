import { type DynamicModule, Inject, Injectable, Logger, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CircuitBreakerConfigError } from '../core/index.js';
import { CIRCUIT_BREAKER_LOGGER_CONTEXT } from '../constants.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { type CircuitBreakerOtelOptions, otelOptionProblems, registerCircuitBreakerOtel } from './circuit-breaker-otel.js';
import { recordingFailedMessage } from './otel.messages.js';

export const CIRCUIT_BREAKER_OTEL_OPTIONS = Symbol('CIRCUIT_BREAKER_OTEL_OPTIONS');

/** Registers the instruments when the module starts and stops them when the application closes. */
@Injectable()
export class CircuitBreakerOtelCollector implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | null = null;
  private readonly logger = new Logger(CIRCUIT_BREAKER_LOGGER_CONTEXT);

  constructor(
    private readonly circuitBreakers: CircuitBreakerRegistry,
    @Inject(CIRCUIT_BREAKER_OTEL_OPTIONS) private readonly options: CircuitBreakerOtelOptions,
  ) {}

  onModuleInit(): void {
    const problems = otelOptionProblems(this.options, 'CircuitBreakerOtelModule options');
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
    let logged = false;
    const onError = this.options.onError ?? ((error: unknown) => {
      if (logged) return;
      logged = true;
      this.logger.warn(`${recordingFailedMessage('a metric or span event')} ${error instanceof Error ? error.message : String(error)}`);
    });
    this.unregister = registerCircuitBreakerOtel(this.circuitBreakers, { ...this.options, onError });
  }

  onModuleDestroy(): void {
    this.unregister?.();
    this.unregister = null;
  }
}

/**
 * OpenTelemetry metrics and span events of the application's breakers (entry point
 * `nestjs-circuit-breaker/opentelemetry`, optional peer `@opentelemetry/api`). Needs
 * `CircuitBreakerModule` registered globally (its default).
 *
 * @example
 * imports: [CircuitBreakerModule.forRoot(), CircuitBreakerOtelModule.forRoot({ meterProvider })]
 */
@Module({})
export class CircuitBreakerOtelModule {
  /** @param options `{ meterProvider?, tracerProvider?, onError? }` (default: the global OpenTelemetry providers) */
  static forRoot(options: CircuitBreakerOtelOptions = {}): DynamicModule {
    return {
      module: CircuitBreakerOtelModule,
      providers: [{ provide: CIRCUIT_BREAKER_OTEL_OPTIONS, useValue: options }, CircuitBreakerOtelCollector],
    };
  }
}
