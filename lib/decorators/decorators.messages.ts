// Every user-facing message of the decorators.

export function notAMethodMessage(decorator: string, target: object, key: string | symbol): string {
  const owner = typeof target === 'function' ? target.name : target.constructor.name;
  return `@${decorator}() decorates methods only; ${owner}.${String(key)} is not a method`;
}

export const DECORATOR_EXPECTED = {
  nameOrOptions: 'expected a breaker name (string), an options object, or nothing',
  options: 'expected an options object',
  injectName: 'expected a breaker name (string)',
} as const;
