import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerExceptionFilter, CircuitBreakerModule } from 'nestjs-circuit-breaker';
import { CircuitBreakerHealthIndicator } from 'nestjs-circuit-breaker/health';
import { CircuitBreakerMetricsModule } from 'nestjs-circuit-breaker/prometheus';
import { CatalogClient } from './catalog.client.js';
import { CatalogController } from './catalog.controller.js';
import { circuitBreakerOptions } from './circuit-breaker.options.js';
import { DownstreamController } from './downstream.controller.js';
import { FlakyDownstream } from './flaky-downstream.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { PaymentsClient } from './payments.client.js';
import { PaymentsController } from './payments.controller.js';
import { SharedBreakerState, SharedStateModule } from './shared-state.module.js';
import { ShippingClient } from './shipping.client.js';
import { ShippingService } from './shipping.service.js';

@Module({
  imports: [
    CircuitBreakerModule.forRootAsync({
      // with REDIS_URL, every instance shares its breakers' state through Redis
      imports: [SharedStateModule],
      inject: [SharedBreakerState],
      useFactory: (shared: SharedBreakerState) => circuitBreakerOptions(process.env, shared.store),
      // mounts the management API at /circuit-breakers; the factory enables it and sets the token
      management: { path: 'circuit-breakers' },
    }),
    TerminusModule,
    // the breaker metrics on prom-client's default registry, served by MetricsController on GET /metrics
    CircuitBreakerMetricsModule.forRoot(),
  ],
  controllers: [CatalogController, PaymentsController, DownstreamController, HealthController, MetricsController],
  providers: [
    FlakyDownstream,
    CatalogClient,
    PaymentsClient,
    ShippingClient,
    ShippingService,
    CircuitBreakerHealthIndicator,
    // a CircuitBreakerOpenError from a service (no fallback) answers 503 with Retry-After
    { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter },
  ],
})
export class AppModule {}
