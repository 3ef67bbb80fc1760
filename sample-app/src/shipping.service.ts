import { Injectable } from '@nestjs/common';
import { CircuitBreakerRegistry, FallbackChain } from 'nestjs-circuit-breaker';
import { BREAKERS } from './catalog.client.js';
import type { ShippingQuote } from './flaky-downstream.js';
import { ShippingClient } from './shipping.client.js';

/** Shown when no carrier answers: an estimate the shop can always honour. */
const FLAT_RATE: ShippingQuote = { carrier: 'flat-rate', priceCents: 990, days: 5 };

/**
 * A shipping quote from the best carrier that answers, in tiers: the express carrier (retried, behind
 * its breaker), then the standard carrier (behind the chain's own breaker for that tier: while it is
 * open the tier is skipped without a call), then a flat rate.
 */
@Injectable()
export class ShippingService {
  private readonly chain: FallbackChain<[number], ShippingQuote>;

  constructor(carriers: ShippingClient, registry: CircuitBreakerRegistry) {
    this.chain = new FallbackChain<[number], ShippingQuote>([
      { name: 'express', fn: (productId) => carriers.expressQuote(productId) },
      { name: 'standard', fn: (productId) => carriers.standardQuote(productId), breaker: registry.getOrCreate(BREAKERS.standardCarrier) },
      { name: 'flat-rate', fn: () => FLAT_RATE },
    ]);
  }

  quote(productId: number): Promise<ShippingQuote> {
    return this.chain.execute(productId);
  }
}
