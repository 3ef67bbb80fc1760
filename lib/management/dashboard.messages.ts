// Every user-facing message of the event stream and the dashboard page.

export const DASHBOARD_EXPECTED = {
  streamOptions: 'expected an options object { perCall?, heartbeatMs? }',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  boolean: 'expected true or false',
  heartbeatMs: (min: number, max: number) => `expected an integer number of milliseconds from ${min} to ${max}`,
  pageOptions: 'expected an options object { basePath }',
  basePath: 'expected a URL path starting with "/" (letters, digits and - . _ ~ / : only), e.g. "/circuit-breakers"',
} as const;
