import { Controller, Get, Param, ParseIntPipe } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { CircuitBreaker } from 'nestjs-circuit-breaker';
import { BREAKERS, CatalogClient, type Product } from './catalog.client.js';
import type { ShippingQuote } from './flaky-downstream.js';
import { ShippingService } from './shipping.service.js';

@Controller()
export class CatalogController {
  constructor(
    private readonly catalog: CatalogClient,
    private readonly shipping: ShippingService,
  ) {}

  @Get('products')
  list(): Observable<Product[]> {
    return this.catalog.listProducts();
  }

  @Get('products/:id')
  one(@Param('id', ParseIntPipe) id: number): Promise<Product> {
    return this.catalog.getProduct(id);
  }

  /** Retry + breaker + fallback chain: the best carrier that answers, else a flat rate. */
  @Get('products/:id/shipping')
  shippingQuote(@Param('id', ParseIntPipe) id: number): Promise<ShippingQuote> {
    return this.shipping.quote(id);
  }

  /** A route-level breaker: while open, the route answers 503 with `Retry-After` without running. */
  @Get('recommendations')
  @CircuitBreaker(BREAKERS.recommendations)
  recommendations(): Promise<Product[]> {
    return this.catalog.recommendations();
  }
}
