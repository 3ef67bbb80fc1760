import type { LeaseGate } from './permit.js';
import {
  CLOSED,
  type CircuitStateMachine,
  DISABLED,
  FORCED_OPEN,
  HALF_OPEN,
  MANUAL_RESET,
  OPEN,
  STATE_NAMES,
  type StateCode,
  type TransitionOrigin,
} from './state-machine.js';

/**
 * A state change to share with other instances of the service, or one received from them.
 * Times are wall-clock epoch milliseconds: monotonic clocks of different processes do not compare.
 */
export interface SharedTransition {
  /** the new state; `reset` is a manual reset (back to closed with the statistics cleared) */
  state: 'open' | 'closed' | 'forced_open' | 'disabled' | 'reset';
  /** for `open`: when the open period ends (epoch ms) */
  openUntil?: number;
  reason: string;
  /** when it happened (epoch ms) */
  at: number;
}

/**
 * What a breaker needs from a shared store (see `CircuitBreakerStore`); attached with
 * `breaker.attachSync()`. The CLOSED path never calls it. `B` is the breaker it is attached to.
 */
export interface BreakerSync<B> {
  /** A local transition happened; share it (without making the caller wait). */
  publish(breaker: B, transition: SharedTransition): void;
  /**
   * A half-open probe wants a fleet-wide lease. Resolves true when granted — and true as well when the
   * store cannot answer in time (availability first: the local limit still holds).
   */
  acquireProbe(breaker: B): Promise<boolean>;
  /** A probe that held a lease will not decide anything (ignored, released, or the state moved on). */
  releaseProbe(breaker: B): void;
}

/**
 * The link between one breaker and a shared store: shares local transitions (all but HALF_OPEN, which
 * every instance reaches on its own from the shared end of the open period), applies the fleet's, and
 * is the breaker's fleet-wide half-open lease.
 */
export class RemoteSync<B> implements LeaseGate {
  private sync: BreakerSync<B> | null = null;
  /** `at` (epoch ms) of the last transition shared with or received from the fleet */
  private lastSharedAt = -Infinity;
  /** true while a received reset is applied: it is not shared back */
  private applyingReset = false;

  constructor(
    private readonly machine: CircuitStateMachine,
    private readonly owner: B,
  ) {}

  /** The lease gate while attached, else null (probes keep to the local limit). */
  get gate(): LeaseGate | null {
    return this.sync === null ? null : this;
  }

  attach(sync: BreakerSync<B>): () => void {
    this.sync = sync;
    return () => {
      if (this.sync === sync) this.sync = null;
    };
  }

  acquire(): Promise<boolean> {
    return this.sync === null ? Promise.resolve(true) : this.sync.acquireProbe(this.owner);
  }

  release(): void {
    this.sync?.releaseProbe(this.owner);
  }

  /** A local transition: shared, unless it came from the fleet or is HALF_OPEN. */
  transitioned(to: StateCode, reason: string, origin: TransitionOrigin): void {
    const sync = this.sync;
    if (sync === null || origin === 'remote' || to === HALF_OPEN || this.applyingReset) return;
    const at = Math.max(Date.now(), this.lastSharedAt + 1); // strictly after anything shared before
    this.lastSharedAt = at;
    const m = this.machine;
    sync.publish(this.owner, {
      state: reason === MANUAL_RESET ? 'reset' : (STATE_NAMES[to] as SharedTransition['state']),
      openUntil: to === OPEN ? at + (m.openUntil - m.clock.now()) : undefined,
      reason,
      at,
    });
  }

  /**
   * Applies a transition decided by another instance, without sharing it back. Stale news (older
   * than the last change shared or received) and news that changes nothing are dropped. Returns
   * whether it changed anything.
   */
  apply(change: SharedTransition): boolean {
    // Our own echo and anything older than the last shared transition we know of are stale.
    if (!(change.at > this.lastSharedAt)) return false;
    this.lastSharedAt = change.at;
    const m = this.machine;
    const reason = `shared: ${change.reason}`;
    switch (change.state) {
      case 'open': {
        // An open period that already ended still counts: the fleet has not closed, so this instance
        // goes OPEN and then half-open at once, probing under the fleet-wide lease.
        const wallNow = Date.now();
        m.openFor((change.openUntil ?? wallNow) - wallNow, reason, 'remote');
        return true;
      }
      case 'closed':
        return m.moveTo(CLOSED, reason, 'remote');
      case 'forced_open':
        return m.moveTo(FORCED_OPEN, reason, 'remote');
      case 'disabled':
        return m.moveTo(DISABLED, reason, 'remote');
      case 'reset':
        this.applyingReset = true; // a reset received is not shared back
        try {
          return m.reset();
        } finally {
          this.applyingReset = false;
        }
      default:
        return false;
    }
  }
}
