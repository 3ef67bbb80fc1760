import { BadRequestException, Body, Controller, Post } from '@nestjs/common';
import type { Charge } from './flaky-downstream.js';
import { PaymentsClient } from './payments.client.js';

/** `POST /payments { amount, currency? }`: charges `amount` (minor units, e.g. cents) through the payment provider. */
@Controller('payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsClient) {}

  @Post()
  pay(@Body() body: Record<string, unknown> | undefined): Promise<Charge> {
    const { amount, currency = 'EUR' } = body ?? {};
    const problems: string[] = [];
    if (!(typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0)) {
      problems.push(`amount must be a whole number of minor units (cents) above 0, got ${JSON.stringify(amount)}`);
    }
    if (!(typeof currency === 'string' && /^[A-Z]{3}$/.test(currency))) {
      problems.push(`currency must be an ISO 4217 code such as "EUR", got ${JSON.stringify(currency)}`);
    }
    if (problems.length > 0) throw new BadRequestException(problems);
    return this.payments.charge(amount as number, currency as string);
  }
}
