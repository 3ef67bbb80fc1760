// The scale benchmark's client side: timed HTTP requests to the server process, and its IPC.

import http from 'node:http';

/** Sends `{ cmd }` to the server process and resolves with its answer. */
export function ask(child, cmd) {
  return new Promise((resolve, reject) => {
    const onMessage = (msg) => {
      if (msg.cmd !== cmd) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(msg);
    };
    const onExit = (code) => reject(new Error(`the scale server exited (code ${code}) while answering ${cmd}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ cmd });
  });
}

/**
 * `GET path`, timed from the request to the last byte of the response (the body is read, not
 * parsed). Rejects on a status other than `expectStatus`.
 */
export function timedGet(agent, port, path, expectStatus = 200) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
      });
      res.on('end', () => {
        const ms = performance.now() - start;
        if (res.statusCode !== expectStatus) reject(new Error(`GET ${path}: ${res.statusCode}, expected ${expectStatus}`));
        else resolve({ ms, bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * Opens the event stream and resolves once it is live: the response headers and the stream's first
 * bytes have arrived (Nest writes them once the handler's Observable is subscribed, i.e. once the
 * registry has attached its listeners). `close()` disconnects the client.
 */
export function openStream(port, path) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET ${path}: ${res.statusCode}, expected 200`));
        req.destroy();
        return;
      }
      res.once('data', () => {
        const ms = performance.now() - start;
        res.resume();
        resolve({ ms, close: () => req.destroy() });
      });
      res.on('error', () => undefined);
    });
    req.on('error', reject);
  });
}
