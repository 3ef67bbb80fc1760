// Every user-facing message of the Terminus health indicator.

export const HEALTH_EXPECTED = {
  key: 'expected a non-empty string, e.g. "circuit_breakers"',
  options: "expected { include?: string[], critical?: string[], details?: 'all' | 'not_closed' }",
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  names: 'expected an array of breaker names',
  details: (known: readonly string[]) => `expected one of ${known.map((d) => `'${d}'`).join(', ')}`,
} as const;

/** The `message` of a down result: which critical breakers reject calls, and in which state. */
export function criticalBreakersDownMessage(down: readonly { name: string; state: string }[]): string {
  return `Critical circuit breakers reject calls: ${down.map(({ name, state }) => `${name} (${state})`).join(', ')}`;
}
