import { circuitBreakerConfigFromEnv, type CircuitBreakerModuleOptions, type CircuitBreakerStore } from 'nestjs-circuit-breaker';

/** The sample's admin token when `CIRCUIT_BREAKER_ADMIN_TOKEN` is not set: for trying it out only. */
export const SAMPLE_ADMIN_TOKEN = 'sample-admin-token';

export function adminToken(env: NodeJS.ProcessEnv): string {
  return env.CIRCUIT_BREAKER_ADMIN_TOKEN?.trim() || SAMPLE_ADMIN_TOKEN;
}

/**
 * The module options: `CIRCUIT_BREAKER_*` environment variables (e.g. `CIRCUIT_BREAKER_FAILURE_THRESHOLD=5`,
 * `CIRCUIT_BREAKER__CATALOG__TIMEOUT=30`) over the sample's defaults, which trip and recover fast;
 * `store` shares the breakers' state with the other instances (see `SharedBreakerState`).
 */
export function circuitBreakerOptions(env: NodeJS.ProcessEnv, store?: CircuitBreakerStore): CircuitBreakerModuleOptions {
  const fromEnv = circuitBreakerConfigFromEnv(env);
  return {
    ...fromEnv,
    defaults: { failureThreshold: 3, resetTimeoutMs: 15_000, ...fromEnv.defaults },
    management: { enabled: true, token: adminToken(env) },
    ...(store !== undefined && { store }),
  };
}
