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
   * Readiness, with every breaker's details: 503 while a breaker without a fallback is open.
   * `catalog` serves stale copies when open, so it is reported but not critical.
   */
  @Get('detailed')
  @HealthCheck()
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.breakers.isHealthy('circuit_breakers', { critical: [BREAKERS.list, BREAKERS.recommendations] }),
    ]);
  }
}
