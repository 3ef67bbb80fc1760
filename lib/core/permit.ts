/**
 * Admission to make one call through a breaker, for callers that settle outcomes themselves
 * (sync code, Observables). Settles once: later calls do nothing.
 */
export interface BreakerPermit {
  /** The call succeeded. With a value, `isFailureResult` is applied to it. */
  success(value?: unknown): void;
  /**
   * The call failed with `error`; `ignore` and `isFailure` are applied to it, and a `CallTimeoutError`
   * of this breaker also counts as a timeout. Returns true when it counted as a failure (false when
   * ignored, or when the permit had already settled).
   */
  failure(error: unknown): boolean;
  /** The call counts as neither (e.g. cancelled; counted in `total_ignored`); a half-open probe slot is released. */
  ignore(): void;
  /** Gives the admission back as if the call never happened: nothing is counted or emitted. */
  release(): void;
}

/** What a permit settles its call with: the outcomes of the state machine, by generation. */
export interface PermitOwner {
  settleValue(gen: number, value: unknown, start: number): void;
  settleError(gen: number, error: unknown, start: number): boolean;
  recordSuccess(gen: number, start: number): void;
  recordIgnored(gen: number, error: unknown): void;
  releaseSlot(gen: number): void;
}

/** What admission asks of the state machine. */
export interface Admitter extends PermitOwner {
  readonly gen: number;
  /** the generation of an admitted call, or -1 for a rejected one (counted) */
  admit(): number;
  /** whether the state is HALF_OPEN (an admitted call is a probe) */
  readonly probing: boolean;
  /** a probe admitted locally was refused by the fleet: its slot back, a rejection counted */
  denyProbe(): void;
  startTime(): number;
}

/** The fleet-wide half-open lease of a breaker attached to a shared store. */
export interface LeaseGate {
  /** Resolves true when the probe may run (granted, or the store could not answer in time). */
  acquire(): Promise<boolean>;
  /** Gives back a lease that was granted but will not be used. */
  release(): void;
}

/** A permit of generation `gen`, whose call started at `start` (NaN when untimed). */
export class Permit implements BreakerPermit {
  private settled = false;

  constructor(
    private readonly owner: PermitOwner,
    private readonly gen: number,
    private readonly start: number,
  ) {}

  success(value?: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (arguments.length > 0) this.owner.settleValue(this.gen, value, this.start);
    else this.owner.recordSuccess(this.gen, this.start);
  }

  failure(error: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    return this.owner.settleError(this.gen, error, this.start);
  }

  ignore(): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.recordIgnored(this.gen, undefined);
  }

  release(): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.releaseSlot(this.gen);
  }
}

/** A permit now, or null when the call is rejected (counted): the local limits only. */
export function admitLocally(m: Admitter): Permit | null {
  const gen = m.admit();
  return gen < 0 ? null : new Permit(m, gen, m.startTime());
}

/**
 * A permit now; a Promise of one when a half-open probe of a breaker with a shared store must first get
 * the fleet-wide lease (null when the fleet refused it); or null when the call is rejected. Counts every
 * rejection once.
 */
export function admit(m: Admitter, lease: LeaseGate | null): Permit | Promise<Permit | null> | null {
  const gen = m.admit();
  if (gen < 0) return null;
  if (lease === null || !m.probing) return new Permit(m, gen, m.startTime());
  return lease.acquire().then((granted) => {
    if (gen !== m.gen) {
      // The state moved while we waited: a lease granted for the old generation goes back, then ask again.
      if (granted) lease.release();
      return admit(m, lease);
    }
    if (granted) return new Permit(m, gen, m.startTime());
    m.denyProbe();
    return null;
  });
}
