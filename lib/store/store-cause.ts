import { describeStoreError, redactCredentials } from '../core/index.js';
import { STORE_CAUSE_TEXTS, storeStillUnavailableMessage, storeUnavailableMessage } from './store.messages.js';
import { unrefTimer } from './store-timing.js';

/**
 * Why a store is unavailable. `code` tells causes apart (an outage logs each cause once): a Redis
 * reply's first word (`WRONGPASS`, `READONLY`…), an error code (`ECONNREFUSED`…), `timeout` or
 * `unknown`. `text` is what a log line shows: the code, and Redis's reply text when there is one.
 */
export interface StoreCause {
  readonly code: string;
  readonly text: string;
}

/** The store's own `timeoutMs` (or `startupTimeoutMs`) ran out. */
export const TIMEOUT_CAUSE: StoreCause = Object.freeze({ code: 'timeout', text: STORE_CAUSE_TEXTS.timeout });
/** Nothing says why (e.g. a connection that closed cleanly). */
export const UNKNOWN_CAUSE: StoreCause = Object.freeze({ code: 'unknown', text: STORE_CAUSE_TEXTS.unknown });

/** A Redis error reply: its first word, in capitals (`WRONGPASS invalid username-password pair…`). */
const REPLY = /^([A-Z][A-Z0-9_]{2,31})(?:\s+([\s\S]*))?$/;
/** A system error code (`ECONNREFUSED`, `ENOTFOUND`, `EHOSTUNREACH`…), or Node's own (`ERR_STREAM_DESTROYED`). */
const ERROR_CODE = /^E[A-Z0-9_]{2,}$/;
/** What Redis appends to an error raised inside a script: the script's SHA and line, not a cause. */
const SCRIPT_SUFFIX = /\s*script: [0-9a-f]{40}, on @user_script:\d+\.?\s*$/;
/** Redis quotes the arguments of a command it refuses: they may be key values or secrets. */
const QUOTED_ARGUMENTS = /,? with args beginning with:[\s\S]*$/;
const MAX_REPLY_TEXT = 160;

/**
 * The cause of a store failure, safe to log: the code of a Redis reply with its text (no script
 * location, no quoted arguments, no URL credentials), an error code, or `unknown` with the error
 * described as `describeStoreError` does.
 */
export function storeCauseOf(error: unknown): StoreCause {
  if (error === undefined || error === null) return UNKNOWN_CAUSE;
  const { code, message } = (typeof error === 'object' ? error : {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && ERROR_CODE.test(code)) return { code, text: code };
  const reply = typeof message === 'string' ? REPLY.exec(message.trim()) : null;
  if (reply !== null) {
    let detail = redactCredentials((reply[2] ?? '').replace(QUOTED_ARGUMENTS, '').replace(SCRIPT_SUFFIX, '')).trim().replace(/\.$/, '');
    if (detail.length > MAX_REPLY_TEXT) detail = `${detail.slice(0, MAX_REPLY_TEXT)}…`;
    return { code: reply[1]!, text: STORE_CAUSE_TEXTS.reply(reply[1]!, detail) };
  }
  return { code: UNKNOWN_CAUSE.code, text: describeStoreError(error) };
}

/** How long the line of an outage whose cause is still to come (a clean close) waits for it. */
const CAUSE_GRACE_MS = 1_000;

/**
 * The log lines of one store's outages: the first cause of an outage, then one line per other known
 * cause; never the same cause twice. An outage that starts without a cause (a connection closed
 * cleanly) holds its line up to a second, for the error of the next attempt to name it.
 */
export class OutageLog {
  /** the code of the last cause logged in this outage (null: none logged yet) */
  private logged: string | null = null;
  private held: { event: string; timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(
    private readonly label: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** The store is (still) unavailable because of `event`, for `cause`; null: its cause is still to come. */
  report(event: string, cause: StoreCause | null): void {
    if (cause === null) {
      if (this.logged === null && this.held === null) this.held = { event, timer: unrefTimer(CAUSE_GRACE_MS, () => this.flush()) };
      return;
    }
    if (this.held !== null) {
      // A command cut off by the closed connection times out or fails vaguely: that is no cause.
      if (cause.code === TIMEOUT_CAUSE.code || cause.code === UNKNOWN_CAUSE.code) return;
      clearTimeout(this.held.timer);
      this.held = null;
    } else if (this.logged !== null) {
      // An unknown cause adds nothing to a known one (e.g. "not connected" during a WRONGPASS outage).
      if (cause.code === this.logged || cause.code === UNKNOWN_CAUSE.code) return;
      this.logged = cause.code;
      this.warn(storeStillUnavailableMessage(this.label, event, cause.text));
      return;
    }
    this.logged = cause.code;
    this.warn(storeUnavailableMessage(this.label, event, cause.text));
  }

  /** The outage is over: a line still held is logged first, so that every "available again" follows one. */
  end(): void {
    this.flush();
    this.logged = null;
  }

  /** Drops a held line (the store is closed). */
  dispose(): void {
    if (this.held !== null) clearTimeout(this.held.timer);
    this.held = null;
  }

  private flush(): void {
    const held = this.held;
    if (held === null) return;
    clearTimeout(held.timer);
    this.held = null;
    this.logged = UNKNOWN_CAUSE.code;
    this.warn(storeUnavailableMessage(this.label, held.event, UNKNOWN_CAUSE.text));
  }
}
