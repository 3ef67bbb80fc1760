// Every child process the fleet bench starts, so that each one is stopped however the bench ends:
// normally, on an error, on SIGINT/SIGTERM, or (SIGKILL, synchronously) in the process's 'exit'.

import { once } from 'node:events';

const GRACE_MS = 5_000;

/** A child's last `limit` characters of output, for error messages (the rest is drained and dropped). */
export function outputTail(child, limit = 16_384) {
  let text = '';
  const add = (chunk) => {
    text += chunk;
    if (text.length > 2 * limit) text = text.slice(-limit);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text.slice(-limit);
}

function alive(child) {
  return child.exitCode === null && child.signalCode === null;
}

/** Sends `signal`, waits for the exit, and SIGKILLs after `GRACE_MS`. */
export async function stopChild(child, signal = 'SIGTERM') {
  if (!alive(child)) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

export class Children {
  #children = new Set();
  #cleanups = [];
  #stopping = null;

  /** Tracks `child` until it exits. */
  track(child) {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Runs `fn` first when stopping (e.g. closing connections to the children). */
  beforeStop(fn) {
    this.#cleanups.push(fn);
  }

  /**
   * Stops everything: the cleanups, then the children in reverse start order (the apps before the
   * Redis they use), each with SIGTERM and a grace period. Idempotent.
   */
  stopAll() {
    return (this.#stopping ??= (async () => {
      for (const fn of this.#cleanups.splice(0).reverse()) {
        try {
          await fn();
        } catch {
          // stopping goes on whatever a cleanup does
        }
      }
      const list = [...this.#children].reverse();
      const apps = list.filter((c) => c.fleetRole !== 'redis');
      await Promise.all(apps.map((c) => stopChild(c)));
      await Promise.all(list.filter((c) => c.fleetRole === 'redis').map((c) => stopChild(c)));
    })());
  }

  /**
   * SIGINT/SIGTERM stop everything, then exit 130/143; so does an error nothing caught (exit 1); the
   * 'exit' event SIGKILLs whatever is left.
   */
  installSignalHandlers(log) {
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
      process.once(signal, () => {
        log(`${signal}: stopping the fleet`);
        void this.stopAll().finally(() => process.exit(code));
      });
    }
    const crash = (error) => {
      log(`failed: ${error?.stack ?? error}`);
      void this.stopAll().finally(() => process.exit(1));
    };
    process.once('uncaughtException', crash);
    process.once('unhandledRejection', crash);
    process.once('exit', () => {
      for (const child of this.#children) if (alive(child)) child.kill('SIGKILL');
    });
  }
}
