// Every user-facing message of the event stream and the dashboard page.

export const DASHBOARD_EXPECTED = {
  streamOptions: 'expected an options object { perCall?, heartbeatMs? }',
  unknownKey: (known: readonly string[]) => `unknown option (known: ${known.join(', ')})`,
  boolean: 'expected true or false',
  heartbeatMs: (min: number, max: number) => `expected an integer number of milliseconds from ${min} to ${max}`,
  eventStreamLimits: 'expected an options object { maxClients?, maxBufferedBytes? }',
  integerRange: (min: number, max: number, unit: string) => `expected an integer number of ${unit} from ${min} to ${max}`,
  pageOptions: 'expected an options object { basePath }',
  basePath: 'expected a URL path starting with "/" (letters, digits and - . _ ~ / : only), e.g. "/circuit-breakers"',
} as const;

/** The 503 of `GET <path>/events` while `management.events.maxClients` clients are streaming. */
export function eventStreamFullMessage(maxClients: number, retryAfterSeconds: number): string {
  return `Too many event-stream clients: the limit is ${maxClients} at once (management.events.maxClients); retry in ${retryAfterSeconds} s`;
}

/** Logged once for a client dropped because it stopped reading. */
export function eventStreamClientDroppedWarning(bufferedBytes: number, maxBufferedBytes: number): string {
  return `Event-stream client dropped: it is not reading its events, and ${bufferedBytes} bytes were buffered for it, `
    + `more than the limit of ${maxBufferedBytes} (management.events.maxBufferedBytes)`;
}
