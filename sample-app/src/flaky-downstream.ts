import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';

/** How the simulated downstream misbehaves; changed at runtime through `POST /downstream/config`. */
export interface DownstreamBehaviour {
  /** share of requests answered 500, from 0 (none) to 1 (all) */
  failureRate: number;
  /** delay before every answer, in milliseconds */
  latencyMs: number;
}

const PRODUCTS = [
  { id: 1, name: 'Espresso machine', price: 499 },
  { id: 2, name: 'Burr grinder', price: 189 },
  { id: 3, name: 'Milk jug', price: 19 },
];

/**
 * A small catalog service that fails and slows down on demand: a plain HTTP server in the same
 * process, on a free port of its own, standing in for the remote dependency a breaker protects.
 */
@Injectable()
export class FlakyDownstream implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FlakyDownstream.name);
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));
  private behaviour: DownstreamBehaviour = { failureRate: 0, latencyMs: 0 };
  private baseUrl = '';

  /** e.g. `http://127.0.0.1:41234` */
  get url(): string {
    return this.baseUrl;
  }

  get config(): DownstreamBehaviour {
    return { ...this.behaviour };
  }

  configure(change: Partial<DownstreamBehaviour>): DownstreamBehaviour {
    this.behaviour = { ...this.behaviour, ...change };
    this.logger.warn(`Simulated downstream now fails ${this.behaviour.failureRate * 100}% of requests, latency ${this.behaviour.latencyMs} ms`);
    return this.config;
  }

  async onModuleInit(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.logger.log(`Simulated catalog service on ${this.baseUrl}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { failureRate, latencyMs } = this.behaviour;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (Math.random() < failureRate) return send(res, 500, { error: 'simulated failure' });
    const path = req.url ?? '/';
    if (path === '/products') return send(res, 200, PRODUCTS);
    const product = /^\/products\/(\d+)$/.exec(path);
    if (product !== null) {
      const found = PRODUCTS.find((p) => p.id === Number(product[1]));
      return found === undefined ? send(res, 404, { error: 'no such product' }) : send(res, 200, found);
    }
    if (path === '/recommendations') return send(res, 200, [PRODUCTS[1], PRODUCTS[2]]);
    send(res, 404, { error: 'not found' });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
