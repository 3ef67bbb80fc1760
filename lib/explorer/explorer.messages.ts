// Every user-facing message of the explorer (bootstrap wrapping of decorated methods).

export function requestScopedWarning(className: string, methods: readonly string[]): string {
  return `${className} is request-scoped (or depends on a request-scoped provider): @CircuitBreaker on ${methods.join(', ')} `
    + 'is not applied. Move the protected call into a singleton provider.';
}

export const EXPLORER_EXPECTED = {
  strictName: (known: readonly string[]) =>
    `a breaker listed in \`breakers\` (strict: true); listed: ${known.length === 0 ? 'none' : known.join(', ')}`,
  sameOptions: (first: string, second: string, name: string) =>
    `the same options wherever a breaker is named: ${first} and ${second} give '${name}' different options `
    + `(give them on one method, or in breakers.${name})`,
  fallback: 'expected a function or the name of a method of the same class',
  fallbackMethod: (className: string) => `expected the name of a method of ${className}`,
  fallbackOnRequestScoped: 'a fallback method of a request-scoped controller has no instance to run on: pass a function',
  extendsName: (known: readonly string[]) =>
    known.length === 0 ? 'names a config, but `configs` is empty' : `expected the name of a config (known: ${known.join(', ')})`,
} as const;
