// Every user-facing message of the decorators.

export function notAMethodMessage(decorator: string, key: string | symbol): string {
  return `@${decorator} decorates methods; ${String(key)} is not one`;
}

export const DECORATOR_EXPECTED = {
  nameOrOptions: 'expected a breaker name (string), an options object, or nothing',
  options: 'expected an options object',
  injectName: 'expected a breaker name (string)',
} as const;
