import { Controller, Get, Param, ParseIntPipe } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { CircuitBreaker } from 'nestjs-circuit-breaker';
import { BREAKERS, CatalogClient, type Product } from './catalog.client.js';

@Controller()
export class CatalogController {
  constructor(private readonly catalog: CatalogClient) {}

  @Get('products')
  list(): Observable<Product[]> {
    return this.catalog.listProducts();
  }

  @Get('products/:id')
  one(@Param('id', ParseIntPipe) id: number): Promise<Product> {
    return this.catalog.getProduct(id);
  }

  /** A route-level breaker: while open, the route answers 503 with `Retry-After` without running. */
  @Get('recommendations')
  @CircuitBreaker(BREAKERS.recommendations)
  recommendations(): Promise<Product[]> {
    return this.catalog.recommendations();
  }
}
