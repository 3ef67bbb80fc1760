// Every user-facing message of the module options and the environment configuration.

export const MODULE_EXPECTED = {
  options: 'expected a module options object { enabled, defaults, breakers, configs, strict, management, store, maxBreakers }',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  boolean: 'expected true or false',
  record: (what: string) => `expected an object of ${what} by name`,
  entry: 'expected an options object',
  breakerName: (pattern: RegExp) => `expected a breaker name matching ${pattern}`,
  reservedName: (reserved: readonly string[]) => `is reserved for the management API (reserved, in any case: ${reserved.join(', ')})`,
  extendsName: (known: readonly string[]) =>
    known.length === 0 ? 'names a config, but `configs` is empty' : `expected the name of a config (known: ${known.join(', ')})`,
  managementPath: 'expected a non-empty route path, e.g. "circuit-breakers"',
  asyncManagementExtra: 'the management extra of forRootAsync carries `path` only; return enabled, token and guards from the factory',
  token: 'expected a non-empty string',
  guards: 'expected an array of guard classes or instances (objects with canActivate)',
  guard: 'expected a guard class or an instance with canActivate()',
  maxBreakers: 'expected an integer >= 1 (or no maxBreakers for no limit)',
  maxBreakersBelowConfigured: (configured: number) => `expected at least the ${configured} breakers configured in \`breakers\` (each key is a breaker from boot)`,
  store: 'expected a CircuitBreakerStore (an object with attach(breaker) and close()), e.g. new RedisCircuitBreakerStore({ client })',
} as const;

export const ENV_EXPECTED = {
  boolean: 'expected true or false (also 1/0, yes/no, on/off)',
  positiveInteger: 'expected an integer >= 1',
  seconds: 'expected a number of seconds >= 0, e.g. 30 or 0.5',
  positiveSeconds: 'expected a number of seconds > 0, e.g. 30 or 0.5',
  aliasConflict: (other: string, otherValue: string) => `is an alias of ${other} (${JSON.stringify(otherValue)}): set one of them`,
  unknownVariable: (known: readonly string[]) => `unknown variable (known: ${known.join(', ')}, and CIRCUIT_BREAKER__<NAME>__<SETTING>)`,
  unknownSetting: (known: readonly string[]) => `unknown per-breaker setting (known: ${known.join(', ')})`,
  breakerName: 'expected CIRCUIT_BREAKER__<NAME>__<SETTING> with a non-empty <NAME>',
} as const;

export function asyncManagementWithoutExtraWarning(): string {
  return 'The forRootAsync factory returned `management` options, but no `management: { path }` was given to '
    + 'forRootAsync itself, so no management routes are mounted. Pass `management: { path: \'circuit-breakers\' }` '
    + 'beside useFactory to mount them.';
}
