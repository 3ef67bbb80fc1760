// The floor: the least a correct consecutive-failure breaker can do on the closed path. A state
// check, the caller's own promise returned, two handlers bound once. Every other subject is compared
// with it; nothing in the library imports it.

/** What the floor rejects with while open: an ordinary Error (it pays for its stack trace). */
export class FloorOpenError extends Error {
  constructor(retryAfterMs) {
    super('floor breaker is open');
    this.name = 'FloorOpenError';
    this.retryAfterMs = retryAfterMs;
  }
}

export class FloorBreaker {
  constructor(threshold = 5, resetTimeoutMs = 60_000) {
    this.threshold = threshold;
    this.resetTimeoutMs = resetTimeoutMs;
    this.failures = 0;
    this.openUntil = 0;
    this.isOpen = false;
    this.onOk = () => {
      this.failures = 0;
    };
    this.onErr = () => {
      if (++this.failures >= this.threshold) {
        this.isOpen = true;
        this.openUntil = performance.now() + this.resetTimeoutMs;
      }
    };
  }

  execute(fn) {
    if (this.isOpen) {
      const left = this.openUntil - performance.now();
      if (left > 0) return Promise.reject(new FloorOpenError(Math.ceil(left)));
      this.isOpen = false;
      this.failures = 0;
    }
    const p = fn();
    p.then(this.onOk, this.onErr);
    return p;
  }
}
