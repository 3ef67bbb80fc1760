import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CIRCUIT_BREAKER_DECLARATIONS, CIRCUIT_BREAKER_MODULE_OPTIONS } from '../constants.js';
import { CircuitBreakerDeclarations } from '../explorer/circuit-breaker.declarations.js';
import { CircuitBreakerExplorer } from '../explorer/circuit-breaker.explorer.js';
import { OpenErrorMapper } from '../interceptors/open-error.mapping.js';
import { ProtectedHandlers } from '../interceptors/protected-handlers.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import type { CircuitBreakerModuleExtras, CircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { breakerProviders, ConfigurableCircuitBreakerModule } from './circuit-breaker.module-definition.js';

/** Provides `@InjectCircuitBreaker(name)` tokens; see `CircuitBreakerModule.forFeature`. */
@Module({})
export class CircuitBreakerFeatureModule {}

/**
 * Named circuit breakers for a Nest application: `forRoot(options)` / `forRootAsync({ useFactory |
 * useClass | useExisting, imports, inject })`, global unless `isGlobal: false`. Every application
 * gets its own `CircuitBreakerRegistry`: nothing is shared between two applications of one process.
 *
 * @example
 * CircuitBreakerModule.forRoot({ defaults: { resetTimeoutMs: 30_000 }, breakers: { payments: { failureThreshold: 3 } } })
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: CIRCUIT_BREAKER_DECLARATIONS, useClass: CircuitBreakerDeclarations },
    CircuitBreakerRegistry,
    CircuitBreakerExplorer,
    OpenErrorMapper,
    ProtectedHandlers,
  ],
  exports: [CircuitBreakerRegistry, ProtectedHandlers, OpenErrorMapper, CIRCUIT_BREAKER_MODULE_OPTIONS],
})
export class CircuitBreakerModule extends ConfigurableCircuitBreakerModule {
  /** Registers the module with `options` (every one optional: `forRoot()` runs on the defaults). */
  static override forRoot(options: CircuitBreakerModuleOptions & Partial<CircuitBreakerModuleExtras> = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Makes `@InjectCircuitBreaker(name)` injectable for each of `names` in the importing module (needs
   * the root module registered globally, the default). Optional: `forRoot`/`forRootAsync` already
   * provide every name injected in a class defined before them; this covers classes defined later.
   *
   * @example
   * imports: [CircuitBreakerModule.forFeature(['payments'])]
   */
  static forFeature(names: readonly string[]): DynamicModule {
    const providers: Provider[] = breakerProviders(names);
    return { module: CircuitBreakerFeatureModule, providers, exports: providers.map((p) => (p as { provide: string }).provide) };
  }
}
