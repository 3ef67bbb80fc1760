/**
 * The states of a circuit breaker, as they appear on the wire (snapshots, events, metrics labels).
 *
 * - `closed`: calls pass, outcomes are counted, the trip rules watch them.
 * - `open`: calls are rejected until the open period ends.
 * - `half_open`: a limited number of probe calls decide whether to close or reopen.
 * - `forced_open`: manual; rejects everything until `reset()`.
 * - `disabled`: manual or `enabled: false`; every call passes, outcomes are counted, the state never
 *   changes by itself.
 */
export const CircuitState = {
  CLOSED: 'closed',
  OPEN: 'open',
  HALF_OPEN: 'half_open',
  FORCED_OPEN: 'forced_open',
  DISABLED: 'disabled',
} as const;

export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

/** Every state, in the order of the `circuit_breaker_state` gauge values (0 closed … 4 disabled). */
export const CIRCUIT_STATES: readonly CircuitState[] = [
  CircuitState.CLOSED,
  CircuitState.HALF_OPEN,
  CircuitState.OPEN,
  CircuitState.FORCED_OPEN,
  CircuitState.DISABLED,
];
