import { BadGatewayException, Injectable } from '@nestjs/common';
import { defer, type Observable } from 'rxjs';
import { CircuitBreaker } from 'nestjs-circuit-breaker';
import { FlakyDownstream } from './flaky-downstream.js';

export interface Product {
  id: number;
  name: string;
  price: number;
  /** set on a copy served by the fallback while the catalog service is failing */
  stale?: true;
}

/** The breakers of the sample, by what they protect. */
export const BREAKERS = {
  /** `CatalogClient.getProduct`: a Promise, with a fallback */
  product: 'catalog',
  /** `CatalogClient.listProducts`: an Observable, no fallback (an open circuit answers 503) */
  list: 'catalog-list',
  /** the `GET /recommendations` route itself */
  recommendations: 'recommendations',
  /** `PaymentsClient.charge`: a Promise, no fallback (a payment cannot be faked) */
  payments: 'payments',
  /** `ShippingClient.expressQuote`: one breaker call per retry sequence (`@CircuitBreaker` above `@Retry`) */
  expressCarrier: 'carrier-express',
  /** the standard carrier's tier of the shipping fallback chain (the chain's own breaker) */
  standardCarrier: 'carrier-standard',
} as const;

/** The catalog service's client: every method is one remote call, protected by a breaker. */
@Injectable()
export class CatalogClient {
  private readonly lastSeen = new Map<number, Product>();

  constructor(private readonly downstream: FlakyDownstream) {}

  /** While the catalog fails (or its breaker is open), serves the last copy seen, marked `stale`. */
  @CircuitBreaker(BREAKERS.product, { callTimeoutMs: 2_000, fallback: 'lastSeenProduct' })
  async getProduct(id: number): Promise<Product> {
    const product = await this.get<Product>(`/products/${id}`);
    this.lastSeen.set(id, product);
    return product;
  }

  /** A cold Observable: each subscription is one call through the breaker. */
  @CircuitBreaker(BREAKERS.list)
  listProducts(): Observable<Product[]> {
    return defer(() => this.get<Product[]>('/products'));
  }

  /** Unprotected here: the route that calls it has its own breaker. */
  recommendations(): Promise<Product[]> {
    return this.get<Product[]>('/recommendations');
  }

  lastSeenProduct(error: unknown, id: number): Product {
    const copy = this.lastSeen.get(id);
    if (copy === undefined) throw error; // nothing to serve: the caller gets the failure (or the 503)
    return { ...copy, stale: true };
  }

  private async get<T>(path: string): Promise<T> {
    const response = await fetch(this.downstream.url + path);
    if (!response.ok) throw new BadGatewayException(`The catalog service answered ${response.status} for ${path}`);
    return (await response.json()) as T;
  }
}
