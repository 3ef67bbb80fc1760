// The fleet's payment provider (DOWNSTREAM_URL of every instance): `POST /charges` succeeds (201) or
// fails (500) on command, as in test/redis/fleet.e2e-spec.ts.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

export class PaymentProvider {
  /** 'succeed' | 'fail' */
  mode = 'succeed';
  charges = 0;
  url = '';
  #server = createServer((req, res) => {
    req.resume();
    if (req.method !== 'POST' || req.url !== '/charges') return void res.writeHead(404).end();
    this.charges++;
    if (this.mode === 'fail') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"provider down"}');
    res.writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id: `ch_${randomUUID()}`, amount: 1299, currency: 'EUR', status: 'succeeded' }));
  });

  async start() {
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.#server.address().port}`;
  }

  async stop() {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
