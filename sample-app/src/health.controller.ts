import { Controller, Get } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { CircuitBreakerHealthIndicator } from 'nestjs-circuit-breaker/health';
import { BREAKERS } from './catalog.client.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: CircuitBreakerHealthIndicator,
  ) {}

  /** Liveness: the process answers. Breakers play no part (an outage elsewhere is no reason to restart). */
  @Get()
  @HealthCheck()
  liveness(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * Readiness, with every breaker's details: 503 while a critical breaker (`catalog-list` or
   * `recommendations`) is open. The others are reported only: `catalog` serves stale copies, the
   * carriers have the shipping chain's flat rate, and a payment outage should not take the shop's
   * catalog out of the load balancer.
   */
  @Get('detailed')
  @HealthCheck()
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.breakers.isHealthy('circuit_breakers', { critical: [BREAKERS.list, BREAKERS.recommendations] }),
    ]);
  }
}
