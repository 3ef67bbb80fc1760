import { BadGatewayException, Injectable } from '@nestjs/common';
import { CircuitBreaker } from 'nestjs-circuit-breaker';
import { BREAKERS } from './catalog.client.js';
import { type Charge, FlakyDownstream } from './flaky-downstream.js';

/** The payment provider's client. */
@Injectable()
export class PaymentsClient {
  constructor(private readonly downstream: FlakyDownstream) {}

  /**
   * No fallback: a payment cannot be served from a copy. While the circuit is open, the call fails at
   * once with `CircuitBreakerOpenError` (503 with `Retry-After` through the app's exception filter),
   * and the provider is left alone to recover. With a shared store, at most `halfOpenMaxCalls` probes
   * reach it across every instance.
   */
  @CircuitBreaker(BREAKERS.payments, { callTimeoutMs: 10_000 })
  async charge(amount: number, currency: string): Promise<Charge> {
    const response = await fetch(`${this.downstream.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount, currency }),
    });
    if (!response.ok) throw new BadGatewayException(`The payment provider answered ${response.status}`);
    return (await response.json()) as Charge;
  }
}
