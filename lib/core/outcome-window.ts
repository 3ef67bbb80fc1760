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

/**
 * The last `size` calls, in a ring of one byte per call. The ring is allocated at the first record:
 * a breaker that never sees traffic costs no buffer.
 */
export class CountWindow implements OutcomeWindow {
  readonly timed = false;
  calls = 0;
  failures = 0;
  slow = 0;
  private ring: Uint8Array | null = null;
  private next = 0;

  constructor(private readonly size: number) {}

  record(_now: number, failed: boolean, slow: boolean): void {
    const ring = (this.ring ??= new Uint8Array(this.size));
    const i = this.next;
    if (this.calls === this.size) {
      const old = ring[i]!;
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.failures++;
    if (slow) this.slow++;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  refresh(): void {}

  clear(): void {
    if (this.calls === 0) return;
    this.ring!.fill(0);
    this.calls = this.failures = this.slow = this.next = 0;
  }
}

/** Fields of one bucket in `TimeWindow.counts`: calls, failures, slow calls. */
const FIELDS = 3;

/**
 * The calls of the last `durationMs`, in `buckets` fixed buckets of `durationMs / buckets` each.
 * A bucket leaves whole when it ages out, so no sample older than `durationMs` is ever counted, and
 * an idle period of `durationMs` or more empties the window. Advancing clears at most `buckets`
 * buckets, however many calls they held. The counts (one array for all buckets) are allocated at the
 * first record.
 */
export class TimeWindow implements OutcomeWindow {
  readonly timed = true;
  calls = 0;
  failures = 0;
  slow = 0;
  private readonly width: number;
  /** per bucket: calls, failures, slow calls (`FIELDS` entries each) */
  private counts: Uint32Array | null = null;
  /** absolute index (time / width) of the newest bucket; -Infinity before the first record */
  private head = -Infinity;
  /** when the newest bucket ends: until then a record needs no refresh */
  private headEnd = -Infinity;
  /** offset in `counts` of the newest bucket */
  private at = 0;

  constructor(durationMs: number, private readonly buckets: number) {
    this.width = durationMs / buckets;
  }

  /** The width of one bucket, in ms. */
  get bucketMs(): number {
    return this.width;
  }

  record(now: number, failed: boolean, slow: boolean): void {
    if (now >= this.headEnd) this.refresh(now);
    const counts = (this.counts ??= new Uint32Array(this.buckets * FIELDS));
    const i = this.at;
    counts[i]!++;
    this.calls++;
    if (failed) {
      counts[i + 1]!++;
      this.failures++;
    }
    if (slow) {
      counts[i + 2]!++;
      this.slow++;
    }
  }

  refresh(now: number): void {
    const index = Math.floor(now / this.width);
    if (index <= this.head) return;
    const counts = this.counts;
    if (index - this.head >= this.buckets) {
      this.clearBuckets();
    } else if (counts !== null) {
      for (let a = this.head + 1; a <= index; a++) {
        const i = (((a % this.buckets) + this.buckets) % this.buckets) * FIELDS;
        this.calls -= counts[i]!;
        this.failures -= counts[i + 1]!;
        this.slow -= counts[i + 2]!;
        counts[i] = counts[i + 1] = counts[i + 2] = 0;
      }
    }
    this.head = index;
    this.headEnd = (index + 1) * this.width;
    this.at = (((index % this.buckets) + this.buckets) % this.buckets) * FIELDS;
  }

  clear(): void {
    this.clearBuckets();
    this.head = -Infinity;
    this.headEnd = -Infinity;
  }

  private clearBuckets(): void {
    if (this.calls === 0) return;
    this.counts!.fill(0);
    this.calls = this.failures = this.slow = 0;
  }
}
