import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';

/** How the simulated downstream misbehaves; changed at runtime through `POST /downstream/config`. */
export interface DownstreamBehaviour {
  /** share of requests answered 500, from 0 (none) to 1 (all) */
  failureRate: number;
  /** delay before every answer, in milliseconds */
  latencyMs: number;
  /** shipping carriers that are down (every quote request answered 503), e.g. `["express"]` */
  carriersDown: Carrier[];
}

/** The shipping carriers the simulated downstream quotes for. */
export const CARRIERS = ['express', 'standard'] as const;
export type Carrier = (typeof CARRIERS)[number];

/** A carrier's shipping quote (`GET /carriers/<carrier>/quotes/<productId>`). */
export interface ShippingQuote {
  carrier: Carrier | 'flat-rate';
  /** in minor units (cents) */
  priceCents: number;
  days: number;
}

const PRODUCTS = [
  { id: 1, name: 'Espresso machine', price: 499 },
  { id: 2, name: 'Burr grinder', price: 189 },
  { id: 3, name: 'Milk jug', price: 19 },
];

/** A charge made by the payment provider (`POST /charges`). */
export interface Charge {
  id: string;
  /** in minor units (cents) */
  amount: number;
  currency: string;
  status: 'succeeded';
}

/**
 * `DOWNSTREAM_URL`, when set: the service the sample calls instead of its own simulated one (several
 * instances of the sample can then share one downstream). Must answer the routes `handle()` serves.
 */
export function downstreamUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.DOWNSTREAM_URL?.trim();
  if (!raw) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`DOWNSTREAM_URL=${JSON.stringify(env.DOWNSTREAM_URL)}: expected an http:// or https:// URL`);
  }
  return raw.replace(/\/+$/, '');
}

/**
 * The remote services the breakers protect, failing and slowing down on demand: a small catalog
 * service, a payment provider and two shipping carriers, in a plain HTTP server in the same process, on a free port of its
 * own. With `DOWNSTREAM_URL` set, the sample calls that URL instead and starts no server.
 */
@Injectable()
export class FlakyDownstream implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(FlakyDownstream.name);
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));
  private behaviour: DownstreamBehaviour = { failureRate: 0, latencyMs: 0, carriersDown: [] };
  private baseUrl = downstreamUrl(process.env) ?? '';
  /** true with `DOWNSTREAM_URL`: the downstream is not simulated here, so its behaviour cannot change here */
  readonly external = this.baseUrl !== '';

  /** e.g. `http://127.0.0.1:41234` */
  get url(): string {
    return this.baseUrl;
  }

  get config(): DownstreamBehaviour {
    return { ...this.behaviour, carriersDown: [...this.behaviour.carriersDown] };
  }

  configure(change: Partial<DownstreamBehaviour>): DownstreamBehaviour {
    this.behaviour = { ...this.behaviour, ...change };
    const down = this.behaviour.carriersDown.length > 0 ? `, carriers down: ${this.behaviour.carriersDown.join(', ')}` : '';
    this.logger.warn(`Simulated downstream now fails ${this.behaviour.failureRate * 100}% of requests, latency ${this.behaviour.latencyMs} ms${down}`);
    return this.config;
  }

  async onModuleInit(): Promise<void> {
    if (this.external) return this.logger.log(`Downstream services on ${this.baseUrl} (DOWNSTREAM_URL)`);
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.logger.log(`Simulated catalog service and payment provider on ${this.baseUrl}`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.external) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { failureRate, latencyMs } = this.behaviour;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (Math.random() < failureRate) return send(res, 500, { error: 'simulated failure' });
    const path = req.url ?? '/';
    if (path === '/charges' && req.method === 'POST') {
      const { amount, currency } = (await readJson(req)) as Partial<Charge>;
      const charge: Charge = { id: `ch_${randomUUID()}`, amount: amount!, currency: currency!, status: 'succeeded' };
      return send(res, 201, charge);
    }
    if (path === '/products') return send(res, 200, PRODUCTS);
    const product = /^\/products\/(\d+)$/.exec(path);
    if (product !== null) {
      const found = PRODUCTS.find((p) => p.id === Number(product[1]));
      return found === undefined ? send(res, 404, { error: 'no such product' }) : send(res, 200, found);
    }
    if (path === '/recommendations') return send(res, 200, [PRODUCTS[1], PRODUCTS[2]]);
    const quote = /^\/carriers\/(express|standard)\/quotes\/(\d+)$/.exec(path);
    if (quote !== null) {
      const carrier = quote[1] as Carrier;
      if (this.behaviour.carriersDown.includes(carrier)) return send(res, 503, { error: `the ${carrier} carrier is down` });
      const found = PRODUCTS.find((p) => p.id === Number(quote[2]));
      if (found === undefined) return send(res, 404, { error: 'no such product' });
      const shipping: ShippingQuote = carrier === 'express' ? { carrier, priceCents: 1490, days: 1 } : { carrier, priceCents: 590, days: 4 };
      return send(res, 200, shipping);
    }
    send(res, 404, { error: 'not found' });
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
