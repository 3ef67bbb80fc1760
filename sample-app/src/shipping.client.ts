import { BadGatewayException, Injectable } from '@nestjs/common';
import { CircuitBreaker, Retry } from 'nestjs-circuit-breaker';
import { BREAKERS } from './catalog.client.js';
import { type Carrier, FlakyDownstream, type ShippingQuote } from './flaky-downstream.js';

/** The shipping carriers' client: one remote call per quote. */
@Injectable()
export class ShippingClient {
  constructor(private readonly downstream: FlakyDownstream) {}

  /**
   * The express carrier often hiccups, so a quote is retried (3 attempts, exponential backoff with full
   * jitter). `@CircuitBreaker` sits above `@Retry`: the whole retry sequence is ONE call through the
   * breaker, so three failed requests (nine attempts) open it, and then no attempt reaches the carrier.
   */
  @CircuitBreaker(BREAKERS.expressCarrier)
  @Retry({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 })
  async expressQuote(productId: number): Promise<ShippingQuote> {
    return this.quote('express', productId);
  }

  /** Unprotected here: the shipping fallback chain puts this tier behind its own breaker. */
  standardQuote(productId: number): Promise<ShippingQuote> {
    return this.quote('standard', productId);
  }

  private async quote(carrier: Carrier, productId: number): Promise<ShippingQuote> {
    const response = await fetch(`${this.downstream.url}/carriers/${carrier}/quotes/${productId}`);
    if (!response.ok) throw new BadGatewayException(`The ${carrier} carrier answered ${response.status}`);
    return (await response.json()) as ShippingQuote;
  }
}
