import { BadGatewayException, Injectable } from '@nestjs/common';
import { CircuitBreaker } from 'nestjs-circuit-breaker';

@Injectable()
export class PaymentsService {
  calls = 0;

  @CircuitBreaker('payments', { failureThreshold: 2, resetTimeoutMs: 30_000 })
  async charge(amount: number): Promise<string> {
    this.calls++;
    if (amount < 0) throw new BadGatewayException('the payment provider answered 500');
    return `charged ${amount}`;
  }
}
