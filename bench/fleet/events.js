// The `stateChange` events of every instance's management stream, in arrival order, and waiting for
// a state to reach a set of instances.

export class FleetEvents {
  /** `{ instance, from, to, reason, at, receivedAt }`: `at` is the instance's clock (epoch ms, ms resolution), `receivedAt` the bench's */
  log = [];
  #waiters = new Set();

  constructor(breaker) {
    this.breaker = breaker;
  }

  /** For `Instance.subscribe()`. */
  onEvent = ({ instance, type, data, receivedAt }) => {
    if (type !== 'stateChange' || data.name !== this.breaker) return;
    this.log.push({ instance: instance.name, from: data.from, to: data.to, reason: data.reason, at: Date.parse(data.at), receivedAt });
    for (const wake of this.#waiters) wake();
  };

  mark() {
    return this.log.length;
  }

  /** The first event of each instance after `mark` that moved it to `to`, as a Map by instance name. */
  #found(mark, names, to) {
    const found = new Map();
    for (let i = mark; i < this.log.length; i++) {
      const e = this.log[i];
      if (e.to === to && names.includes(e.instance) && !found.has(e.instance)) found.set(e.instance, e);
    }
    return found;
  }

  /**
   * Resolves, once every instance of `names` reported `to` after `mark` (or after `timeoutMs`), to
   * `{ found, missing }`: the events found by instance name, and the names still missing.
   */
  async waitAll(mark, names, to, timeoutMs) {
    let found = this.#found(mark, names, to);
    if (found.size < names.length) {
      let wake;
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        wake = () => {
          found = this.#found(mark, names, to);
          if (found.size < names.length) return;
          clearTimeout(timer);
          resolve();
        };
        this.#waiters.add(wake);
      });
      this.#waiters.delete(wake);
    }
    return { found, missing: names.filter((n) => !found.has(n)) };
  }
}
