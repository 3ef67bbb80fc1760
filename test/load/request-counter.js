// Preloaded into the sample app by the load test (`node --import <this file> main.js`): counts the
// requests each HTTP server of the process parses (Node's own `request` event, below Nest and the
// library), by local port and path, and answers `{ type: 'load:counts' }` over the IPC channel with
// those counts; `{ type: 'load:memory' }` with `process.memoryUsage()` after full garbage collections. It observes only; it changes no request. These counts are the load test's ground
// truth of "requests made": what actually reached the application, including the requests that were
// in flight when the load generator stopped and closed its connections.
import { Server } from 'node:http';

/** `{ [localPort]: { [path]: count } }` */
const counts = {};
const emit = Server.prototype.emit;

Server.prototype.emit = function countingEmit(event, request) {
  if (event === 'request') {
    const port = String(request.socket?.localPort ?? 'unknown');
    const path = (request.url ?? '/').split('?')[0];
    const byPath = (counts[port] ??= {});
    byPath[path] = (byPath[path] ?? 0) + 1;
  }
  // eslint-disable-next-line prefer-rest-params
  return emit.apply(this, arguments);
};

if (typeof process.send === 'function') {
  process.on('message', (message) => {
    if (message?.type === 'load:counts') process.send({ type: 'load:counts', counts });
    if (message?.type === 'load:memory') {
      // After full collections (the app runs with --expose-gc): what is still held, not what awaits a GC.
      globalThis.gc?.();
      globalThis.gc?.();
      process.send({ type: 'load:memory', memory: process.memoryUsage(), collected: typeof globalThis.gc === 'function' });
    }
  });
  // The channel must not keep the app alive: its own shutdown decides when it exits.
  process.channel?.unref();
}
