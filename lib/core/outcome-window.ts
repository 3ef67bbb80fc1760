/**
 * A sliding window of call outcomes. Both implementations record in O(1) and keep running totals,
 * so a trip decision never walks the window, whatever its size.
 */
export interface OutcomeWindow {
  /** calls in the window (successes + failures; ignored and rejected calls never enter) */
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  /** whether `record` reads `now` (time windows); count windows record without a clock read */
  readonly timed: boolean;
  /** `now` is read only by time windows */
  record(now: number, failed: boolean, slow: boolean): void;
  /** drop what has aged out by `now` (time windows); a no-op for count windows */
  refresh(now: number): void;
  clear(): void;
}

const FAILED = 1;
const SLOW = 2;

/** The last `size` calls, in a ring of one byte per call. */
export class CountWindow implements OutcomeWindow {
  readonly timed = false;
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly ring: Uint8Array;
  private next = 0;

  constructor(private readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  record(_now: number, failed: boolean, slow: boolean): void {
    const i = this.next;
    if (this.calls === this.size) {
      const old = this.ring[i]!;
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    this.ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.failures++;
    if (slow) this.slow++;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  refresh(): void {}

  clear(): void {
    if (this.calls === 0) return;
    this.ring.fill(0);
    this.calls = this.failures = this.slow = this.next = 0;
  }
}

/**
 * The calls of the last `durationMs`, in `buckets` fixed buckets of `durationMs / buckets` each.
 * A bucket leaves whole when it ages out, so no sample older than `durationMs` is ever counted, and
 * an idle period of `durationMs` or more empties the window. Advancing clears at most `buckets`
 * buckets, however many calls they held.
 */
export class TimeWindow implements OutcomeWindow {
  readonly timed = true;
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly width: number;
  private readonly bucketCalls: Float64Array;
  private readonly bucketFailures: Float64Array;
  private readonly bucketSlow: Float64Array;
  /** absolute index (time / width) of the newest bucket; -Infinity before the first record */
  private head = -Infinity;
  /** when the newest bucket ends: until then a record needs no refresh */
  private headEnd = -Infinity;
  /** ring slot of the newest bucket */
  private slot = 0;

  constructor(durationMs: number, private readonly buckets: number) {
    this.width = durationMs / buckets;
    this.bucketCalls = new Float64Array(buckets);
    this.bucketFailures = new Float64Array(buckets);
    this.bucketSlow = new Float64Array(buckets);
  }

  record(now: number, failed: boolean, slow: boolean): void {
    if (now >= this.headEnd) this.refresh(now);
    const i = this.slot;
    this.bucketCalls[i]!++;
    this.calls++;
    if (failed) {
      this.bucketFailures[i]!++;
      this.failures++;
    }
    if (slow) {
      this.bucketSlow[i]!++;
      this.slow++;
    }
  }

  refresh(now: number): void {
    const index = Math.floor(now / this.width);
    if (index <= this.head) return;
    if (index - this.head >= this.buckets) {
      this.clearBuckets();
    } else {
      for (let a = this.head + 1; a <= index; a++) {
        const i = ((a % this.buckets) + this.buckets) % this.buckets;
        this.calls -= this.bucketCalls[i]!;
        this.failures -= this.bucketFailures[i]!;
        this.slow -= this.bucketSlow[i]!;
        this.bucketCalls[i] = this.bucketFailures[i] = this.bucketSlow[i] = 0;
      }
    }
    this.head = index;
    this.headEnd = (index + 1) * this.width;
    this.slot = ((index % this.buckets) + this.buckets) % this.buckets;
  }

  clear(): void {
    this.clearBuckets();
    this.head = -Infinity;
    this.headEnd = -Infinity;
  }

  private clearBuckets(): void {
    if (this.calls === 0) return;
    this.bucketCalls.fill(0);
    this.bucketFailures.fill(0);
    this.bucketSlow.fill(0);
    this.calls = this.failures = this.slow = 0;
  }
}
