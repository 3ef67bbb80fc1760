import { ConfigurableModuleBuilder, type DynamicModule, Logger, type Provider } from '@nestjs/common';
import { CircuitBreakerConfigError } from '../core/index.js';
import { CIRCUIT_BREAKER_LOGGER_CONTEXT, CIRCUIT_BREAKER_MODULE_OPTIONS, CIRCUIT_BREAKER_RAW_OPTIONS, DEFAULT_MANAGEMENT_PATH } from '../constants.js';
import type {
  CircuitBreakerManagementOptions,
  CircuitBreakerModuleExtras,
  CircuitBreakerModuleOptions,
} from '../options/module-options.interface.js';
import { managementControllers } from '../management/circuit-breaker-management.controller.js';
import { cleanManagementPath, resolveModuleOptions } from '../options/module-options.js';
import { asyncManagementWithoutExtraWarning, MODULE_EXPECTED } from '../options/options.messages.js';
import { getCircuitBreakerToken, injectedBreakerNames } from '../decorators/inject-circuit-breaker.decorator.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';

/** A provider of `@InjectCircuitBreaker(name)` for each of `names`: the registry's breaker. */
export function breakerProviders(names: readonly string[]): Provider[] {
  return names.map((name) => ({
    provide: getCircuitBreakerToken(name),
    inject: [CircuitBreakerRegistry],
    useFactory: (registry: CircuitBreakerRegistry) => registry.getOrCreate(name),
  }));
}

/** Whether `definition` comes from `forRoot` (its options are a value) rather than `forRootAsync`. */
function isStatic(definition: DynamicModule): boolean {
  return (definition.providers ?? []).some((p) => typeof p === 'object' && 'provide' in p && p.provide === CIRCUIT_BREAKER_RAW_OPTIONS && 'useValue' in p);
}

/**
 * `forRoot`: `management` is an extra (Nest strips it from the options), given back here in full.
 * `forRootAsync`: the extra carries `path` only; `enabled`, `token` and `guards` come from the factory.
 */
function resolvedOptionsProvider(staticOptions: boolean, extra: CircuitBreakerManagementOptions | undefined): Provider {
  return {
    provide: CIRCUIT_BREAKER_MODULE_OPTIONS,
    inject: [CIRCUIT_BREAKER_RAW_OPTIONS],
    useFactory: (raw: CircuitBreakerModuleOptions | undefined) => {
      if (staticOptions) return resolveModuleOptions({ ...raw, ...(extra === undefined ? {} : { management: extra }) });
      if (extra === undefined) {
        if (raw?.management !== undefined) new Logger(CIRCUIT_BREAKER_LOGGER_CONTEXT).warn(asyncManagementWithoutExtraWarning());
        return resolveModuleOptions(raw);
      }
      return resolveModuleOptions({ ...raw, management: { ...raw?.management, ...(extra.path === undefined ? {} : { path: extra.path }) } });
    },
  };
}

export const { ConfigurableModuleClass: ConfigurableCircuitBreakerModule } = new ConfigurableModuleBuilder<CircuitBreakerModuleOptions>({
  moduleName: 'CircuitBreaker',
  optionsInjectionToken: CIRCUIT_BREAKER_RAW_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<CircuitBreakerModuleExtras>({ isGlobal: true, management: undefined }, (definition, extras) => {
    const staticOptions = isStatic(definition);
    const management = extras.management;
    if (!staticOptions && management !== undefined) {
      // Silently dropping `enabled: true` here would leave a dead API and no hint why.
      const extraKeys = Object.keys(management).filter((key) => key !== 'path');
      if (extraKeys.length > 0) {
        throw new CircuitBreakerConfigError(extraKeys.map((key) => ({
          path: `forRootAsync management.${key}`,
          expected: MODULE_EXPECTED.asyncManagementExtra,
          value: key === 'token' ? '<redacted>' : (management as unknown as Record<string, unknown>)[key], // never a secret in a message
        })));
      }
    }
    // Every name injected with @InjectCircuitBreaker in the classes defined so far (forFeature for later ones).
    const injected = breakerProviders(injectedBreakerNames());
    return {
      ...definition,
      global: extras.isGlobal,
      providers: [...(definition.providers ?? []), resolvedOptionsProvider(staticOptions, management), ...injected],
      exports: [...(definition.exports ?? []), ...injected.map((p) => (p as { provide: string }).provide)],
      controllers: management === undefined ? [] : managementControllers(cleanManagementPath(management.path) ?? DEFAULT_MANAGEMENT_PATH),
    };
  })
  .build();
