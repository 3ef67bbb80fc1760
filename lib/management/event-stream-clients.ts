import type { MessageEvent } from '@nestjs/common';
import type { Observable, Observer, Subscription } from 'rxjs';
import { CircuitBreakerConfigError, type ConfigProblem, isRecord } from '../core/index.js';
import { DASHBOARD_EXPECTED, eventStreamClientDroppedWarning } from './dashboard.messages.js';

/** Limits of the event stream `GET <management.path>/events` (`management.events`). */
export interface CircuitBreakerEventStreamLimits {
  /** clients streaming at once; past it a new client gets 503 with `Retry-After` @default 100 */
  maxClients?: number;
  /**
   * bytes waiting in the response of one client that does not read; past it that client is dropped
   * (its response destroyed, its subscription ended, one warning logged) @default 262144 (256 KiB)
   */
  maxBufferedBytes?: number;
}

/** @default CircuitBreakerEventStreamLimits.maxClients */
export const DEFAULT_EVENT_STREAM_MAX_CLIENTS = 100;
/** @default CircuitBreakerEventStreamLimits.maxBufferedBytes */
export const DEFAULT_EVENT_STREAM_MAX_BUFFERED_BYTES = 256 * 1024;
/** The `Retry-After` (seconds) of the 503 answered while every slot is taken. */
export const EVENT_STREAM_RETRY_AFTER_SECONDS = 5;

const LIMIT_KEYS: readonly (keyof CircuitBreakerEventStreamLimits)[] = ['maxClients', 'maxBufferedBytes'];
// Below about one event, every client would be dropped at its first unread event.
const LIMIT_RANGES: Record<keyof CircuitBreakerEventStreamLimits, readonly [min: number, max: number, unit: string]> = {
  maxClients: [1, 1_000_000, 'clients'],
  maxBufferedBytes: [1024, 2 ** 30, 'bytes'],
};

/** Problems of a `management.events` value; `path` locates it. */
export function eventStreamLimitProblems(value: unknown, path: string): ConfigProblem[] {
  if (value === undefined) return [];
  if (!isRecord(value)) return [{ path, expected: DASHBOARD_EXPECTED.eventStreamLimits, value }];
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(value)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) problems.push({ path: `${path}.${key}`, expected: DASHBOARD_EXPECTED.unknownKey(LIMIT_KEYS), value: value[key] });
  }
  for (const key of LIMIT_KEYS) {
    const v = value[key];
    const [min, max, unit] = LIMIT_RANGES[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
      problems.push({ path: `${path}.${key}`, expected: DASHBOARD_EXPECTED.integerRange(min, max, unit), value: v });
    }
  }
  return problems;
}

/** What a client's stream needs of Node's `IncomingMessage` (Express's `req`, Fastify's `request.raw`). */
export interface EventStreamRequest {
  method?: string;
  httpVersionMajor?: number;
  socket?: {
    destroyed?: boolean;
    setKeepAlive?(enable: boolean): unknown;
    setNoDelay?(noDelay: boolean): unknown;
    setTimeout?(ms: number): unknown;
  } | null;
}

/** What a client's stream needs of Node's `ServerResponse` (Express's `res`, Fastify's `reply.raw`). */
export interface EventStreamResponse {
  /** bytes written and not yet handed to the operating system */
  readonly writableLength: number;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
  end(): unknown;
  destroy(): unknown;
  on(event: 'close' | 'error', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

/** Logs through Nest's `Logger` in the module, through anything with `warn` in a test. */
export interface EventStreamLogger {
  warn(message: string): unknown;
}

// The headers of Nest's own `@Sse()` responses.
const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  Pragma: 'no-cache',
  Expires: '0',
  'X-Accel-Buffering': 'no', // nginx: pass each event on at once
};

/**
 * The connected clients of one event-stream route, and their limits: at most `maxClients` at once,
 * and at most `maxBufferedBytes` waiting for any one of them.
 *
 * Each event is written to the response as it comes, whatever the client reads, so the response's
 * `writableLength` is what the server holds for that client; past the limit the client is dropped,
 * rather than buffering without end for a peer that stopped reading. A client that left is found at
 * the latest by the next write (the `heartbeat` of the stream, every 15 s): its slot is freed then.
 */
export class EventStreamClients {
  readonly maxClients: number;
  readonly maxBufferedBytes: number;
  private connected = 0;

  constructor(
    limits: CircuitBreakerEventStreamLimits | undefined,
    readonly logger: EventStreamLogger,
  ) {
    const problems = eventStreamLimitProblems(limits, 'management.events');
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
    this.maxClients = limits?.maxClients ?? DEFAULT_EVENT_STREAM_MAX_CLIENTS;
    this.maxBufferedBytes = limits?.maxBufferedBytes ?? DEFAULT_EVENT_STREAM_MAX_BUFFERED_BYTES;
  }

  /** the clients streaming now */
  get size(): number {
    return this.connected;
  }

  /** whether every slot is taken: the next client is to be answered 503 */
  get full(): boolean {
    return this.connected >= this.maxClients;
  }

  /**
   * Streams `events` to `response` as Server-Sent Events, the client holding a slot until its
   * response closes (the client left or was dropped) or `events` end (the response is then ended).
   * `headers` are sent beside the SSE ones (those a framework kept apart from the raw response).
   * Returns false, with nothing written, while every slot is taken.
   */
  serve(request: EventStreamRequest, response: EventStreamResponse, events: Observable<MessageEvent>, headers?: Record<string, string>): boolean {
    if (this.full) return false;
    const socket = request.socket;
    // The client left while guards ran: "close" has been emitted already, nothing is to be started.
    if (response.destroyed || response.writableEnded || socket?.destroyed === true) return true;
    const http1 = (request.httpVersionMajor ?? 1) === 1;
    if (http1 && socket) {
      // Under HTTP/2 these would apply to the whole session, not to this stream.
      socket.setKeepAlive?.(true);
      socket.setNoDelay?.(true);
      socket.setTimeout?.(0);
    }
    response.writeHead(200, { ...headers, ...SSE_HEADERS, ...(http1 ? { Connection: 'keep-alive' } : {}) });
    this.connected++;
    const client = new EventStreamClient(this, response);
    if (request.method === 'HEAD') client.end();
    else client.start(events);
    return true;
  }

  /** @internal a client's response closed */
  release(): void {
    this.connected--;
  }
}

/** One client's stream: writes its events and gives its slot back exactly once. */
class EventStreamClient implements Observer<MessageEvent> {
  private subscription: Subscription | undefined;
  private lastId = 0;
  private finished = false;
  /** bytes of the opening message (the snapshot), which the buffered limit does not count */
  private allowance = 0;

  constructor(
    private readonly clients: EventStreamClients,
    private readonly response: EventStreamResponse,
  ) {}

  // Bound once per client, as listeners and write callbacks.
  private readonly gone = (): void => this.finish();
  private readonly written = (error?: Error | null): void => {
    if (error) this.finish();
  };

  start(events: Observable<MessageEvent>): void {
    this.response.on('close', this.gone);
    // A write to a socket that broke is reported here (and to `written`): never an uncaught error.
    this.response.on('error', this.gone);
    // An empty line sends the headers at once, so that the client sees the stream open.
    this.response.write('\n', this.written);
    const subscription = events.subscribe(this);
    if (this.finished) subscription.unsubscribe(); // ended during subscribe
    else this.subscription = subscription;
  }

  next(message: MessageEvent): void {
    if (this.finished) return;
    const response = this.response;
    // A dead peer: the socket is gone although "close" has not come yet.
    if (response.destroyed || response.writableEnded) {
      this.finish();
      return;
    }
    const text = formatEvent(message, ++this.lastId);
    response.write(text, this.written);
    // The message that opens the stream (the snapshot of every breaker's state: 350 kB at 10,000
    // breakers) is not the backlog of a client that stopped reading: the limit counts the bytes beyond it.
    if (this.lastId === 1) this.allowance = Buffer.byteLength(text);
    const buffered = response.writableLength;
    if (buffered > this.clients.maxBufferedBytes + this.allowance) {
      this.clients.logger.warn(eventStreamClientDroppedWarning(buffered, this.clients.maxBufferedBytes));
      this.finish();
      response.destroy();
    }
  }

  error(): void {
    this.end();
  }

  complete(): void {
    this.end();
  }

  /** Ends the response (the events ended: application shutdown). */
  end(): void {
    this.finish();
    if (!this.response.writableEnded && !this.response.destroyed) this.response.end();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clients.release();
    this.response.removeListener('close', this.gone);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }
}

const LINE_BREAKS = /\r\n|\r|\n/;
const FIELD_BREAKS = /[\r\n]/g;

/** One event as `text/event-stream`, as Nest's `@Sse()` writes it (`event:`, `id:`, `data:` lines). */
export function formatEvent(message: MessageEvent, id: number): string {
  let text = message.type === undefined ? '' : `event: ${String(message.type).replace(FIELD_BREAKS, '')}\n`;
  text += `id: ${String(message.id ?? id).replace(FIELD_BREAKS, '')}\n`;
  if (message.retry !== undefined) text += `retry: ${String(message.retry).replace(FIELD_BREAKS, '')}\n`;
  const data: unknown = message.data;
  if (data !== undefined && data !== null) {
    for (const line of (typeof data === 'string' ? data : JSON.stringify(data)).split(LINE_BREAKS)) text += `data: ${line}\n`;
  }
  return `${text}\n`;
}
