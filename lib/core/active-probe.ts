import type { ProbeOptions } from './options.js';

/** What the active probe needs of the state machine. */
export interface ProbeTarget {
  readonly gen: number;
  /** moves the state along the clock (an ended open period half-opens) */
  refresh(): void;
  /** whether the state is OPEN */
  readonly isOpen: boolean;
  /** OPEN → HALF_OPEN early, because the check passed */
  halfOpen(reason: string): void;
}

/**
 * The opt-in background check of an OPEN breaker (`probe: { intervalMs, fn }`): one unref'd interval
 * while OPEN, none otherwise. When `fn` succeeds during the same open period, the breaker half-opens
 * early; a check that never settles cannot block the next open period's checks.
 */
export class ActiveProbe {
  private timer: ReturnType<typeof setInterval> | null = null;
  private disposed = false;

  constructor(
    private readonly target: ProbeTarget,
    private readonly probe: Readonly<ProbeOptions>,
  ) {}

  /** The breaker opened: start checking (once per open period). */
  start(): void {
    if (this.timer !== null || this.disposed) return;
    const target = this.target;
    const gen = target.gen;
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      target.refresh();
      if (!target.isOpen || target.gen !== gen) {
        if (this.timer === timer) this.stop();
        return;
      }
      running = true;
      let outcome: Promise<unknown>;
      try {
        outcome = Promise.resolve(this.probe.fn());
      } catch (error) {
        outcome = Promise.reject(error);
      }
      outcome.then(
        () => {
          running = false;
          // Only if this open period is still the current one and nobody stopped the probe meanwhile.
          if (this.timer === timer && target.isOpen && target.gen === gen) target.halfOpen('active probe succeeded');
        },
        () => {
          running = false;
        },
      );
    }, this.probe.intervalMs);
    timer.unref?.();
    this.timer = timer;
  }

  /** The breaker left OPEN: stop checking. */
  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops for good (shutdown). */
  dispose(): void {
    this.disposed = true;
    this.stop();
  }
}
