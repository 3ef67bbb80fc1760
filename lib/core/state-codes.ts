import { CircuitState } from './circuit-state.js';

/** The state machine's vocabulary: state codes, transition origins, the hooks it calls. */

// State codes: an integer compare on the hot path instead of a string compare.
export const CLOSED = 0;
export const OPEN = 1;
export const HALF_OPEN = 2;
export const FORCED_OPEN = 3;
export const DISABLED = 4;
export type StateCode = 0 | 1 | 2 | 3 | 4;
export const STATE_NAMES: readonly CircuitState[] = [
  CircuitState.CLOSED,
  CircuitState.OPEN,
  CircuitState.HALF_OPEN,
  CircuitState.FORCED_OPEN,
  CircuitState.DISABLED,
];
/** The reason of a manual reset; a shared store tells it apart from a close. */
export const MANUAL_RESET = 'manual reset';
/** Who moved the state: this instance, or another one through a shared store. */
export type TransitionOrigin = 'local' | 'remote';

/** What the machine tells the parts around it (active probe, shared store) about itself. */
export interface StateMachineHooks {
  /** after every state change */
  transitioned(from: StateCode, to: StateCode, reason: string, origin: TransitionOrigin): void;
  /** a half-open probe slot was given back without a decision: the next probe may run anywhere */
  slotReleased(): void;
}

/** A transition count, for metrics. */
export interface TransitionCount {
  from: CircuitState;
  to: CircuitState;
  count: number;
}
