import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import type { MessageEvent } from '@nestjs/common';
import { Subject } from 'rxjs';
import { CircuitBreakerConfigError } from '../core/index.js';
import { DEFAULT_EVENT_STREAM_MAX_BUFFERED_BYTES, DEFAULT_EVENT_STREAM_MAX_CLIENTS, EventStreamClients, type EventStreamResponse, formatEvent } from './event-stream-clients.js';

/** A Node response whose peer reads nothing: every byte written stays in `writableLength`. */
class StalledResponse extends EventEmitter implements EventStreamResponse {
  writableLength = 0;
  destroyed = false;
  writableEnded = false;
  head: { status: number; headers: Record<string, string> } | undefined;
  readonly chunks: string[] = [];
  /** the callback of each write, to fail one */
  readonly callbacks: ((error?: Error | null) => void)[] = [];
  writeHead(status: number, headers: Record<string, string>) {
    this.head = { status, headers };
  }
  write(chunk: string, callback: (error?: Error | null) => void) {
    this.chunks.push(chunk);
    this.callbacks.push(callback);
    this.writableLength += Buffer.byteLength(chunk);
    return false;
  }
  end() {
    this.writableEnded = true;
  }
  destroy() {
    this.destroyed = true;
  }
}

const change = (n: number): MessageEvent => ({ type: 'stateChange', data: { type: 'stateChange', name: `b${n}`, to: 'open' } });

function setup(limits: ConstructorParameters<typeof EventStreamClients>[0] = {}) {
  const warnings: string[] = [];
  const clients = new EventStreamClients(limits, { warn: (m: string) => warnings.push(m) });
  const events = new Subject<MessageEvent>();
  const response = new StalledResponse();
  return { clients, events, response, warnings, serve: (request = {}) => clients.serve(request, response, events) };
}

describe('EventStreamClients', () => {
  it('defaults to 100 clients and 256 KiB, and rejects a bad limit naming it', () => {
    const { clients } = setup(undefined);
    expect([clients.maxClients, clients.maxBufferedBytes]).toEqual([DEFAULT_EVENT_STREAM_MAX_CLIENTS, DEFAULT_EVENT_STREAM_MAX_BUFFERED_BYTES]);
    expect([DEFAULT_EVENT_STREAM_MAX_CLIENTS, DEFAULT_EVENT_STREAM_MAX_BUFFERED_BYTES]).toEqual([100, 262_144]);
    expect(() => setup({ maxBufferedBytes: Number.NaN })).toThrow(CircuitBreakerConfigError);
    expect(() => setup({ maxClients: 0 })).toThrow(/management\.events\.maxClients: expected an integer number of clients from 1 to 1000000, received 0/);
  });

  it('writes the SSE headers, then each event as Nest\'s @Sse() does, with increasing ids', () => {
    const { response, events, serve } = setup();
    expect(serve({ httpVersionMajor: 1 })).toBe(true);
    expect(response.head?.status).toBe(200);
    expect(response.head?.headers).toMatchObject({ 'Content-Type': 'text/event-stream', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    events.next(change(1));
    events.next({ type: 'heartbeat', data: 'a\nb' });
    expect(response.chunks).toEqual([
      '\n',
      'event: stateChange\nid: 1\ndata: {"type":"stateChange","name":"b1","to":"open"}\n\n',
      'event: heartbeat\nid: 2\ndata: a\ndata: b\n\n',
    ]);
  });

  it('drops a client past maxBufferedBytes: one warning, response destroyed, unsubscribed, slot freed', () => {
    const { clients, response, events, warnings, serve } = setup({ maxBufferedBytes: 1024 });
    serve();
    expect(clients.size).toBe(1);
    let n = 0;
    while (!response.destroyed && n < 100) events.next(change(++n));
    expect(response.destroyed).toBe(true);
    // the opening message (in the route, the snapshot) is not counted against the limit
    const opening = formatEvent(change(1), 1).length;
    expect(response.writableLength).toBeGreaterThan(1024 + opening);
    expect(response.writableLength).toBeLessThan(1024 + opening + formatEvent(change(n), n).length + 1);
    expect(warnings).toEqual([expect.stringMatching(/^Event-stream client dropped: .* more than the limit of 1024 \(management\.events\.maxBufferedBytes\)$/)]);
    expect(events.observed).toBe(false);
    expect(clients.size).toBe(0);
    response.emit('close'); // Node's own close, later: nothing counted twice
    expect(clients.size).toBe(0);
  });

  it('frees the slot of a dead peer: a close, a failed write, or a destroyed response found by the next write', () => {
    const closed = setup();
    closed.serve();
    closed.response.emit('close');
    expect([closed.clients.size, closed.events.observed]).toEqual([0, false]);

    const failed = setup();
    failed.serve();
    failed.events.next(change(1));
    failed.response.callbacks.at(-1)!(new Error('write EPIPE'));
    expect([failed.clients.size, failed.events.observed]).toEqual([0, false]);

    const destroyed = setup();
    destroyed.serve();
    destroyed.response.destroyed = true; // "close" not there yet
    const written = destroyed.response.chunks.length;
    destroyed.events.next({ type: 'heartbeat', data: { type: 'heartbeat' } });
    expect(destroyed.response.chunks).toHaveLength(written);
    expect([destroyed.clients.size, destroyed.events.observed]).toEqual([0, false]);
    expect(() => destroyed.response.emit('error', new Error('ECONNRESET'))).not.toThrow();
  });

  it('refuses a client past maxClients without writing, and takes one again once a slot is free', () => {
    const { clients, events } = setup({ maxClients: 1 });
    const first = new StalledResponse();
    expect(clients.serve({}, first, events)).toBe(true);
    expect(clients.full).toBe(true);
    const refused = new StalledResponse();
    expect(clients.serve({}, refused, events)).toBe(false);
    expect([refused.head, refused.chunks]).toEqual([undefined, []]);
    first.emit('close');
    expect(clients.full).toBe(false);
    expect(clients.serve({}, new StalledResponse(), events)).toBe(true);
  });

  it('ends the response when the events end, and takes no slot for a client gone before it was served', () => {
    const { clients, response, events, serve } = setup();
    serve();
    events.complete();
    expect([response.writableEnded, clients.size]).toEqual([true, 0]);

    const gone = setup();
    expect(gone.serve({ socket: { destroyed: true } })).toBe(true);
    expect([gone.response.head, gone.clients.size, gone.events.observed]).toEqual([undefined, 0, false]);
  });

  it('answers HEAD with the headers only', () => {
    const { clients, response, events, serve } = setup();
    serve({ method: 'HEAD' });
    expect([response.head?.status, response.writableEnded, events.observed, clients.size]).toEqual([200, true, false, 0]);
  });
});
