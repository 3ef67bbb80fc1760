import { registerAs } from '@nestjs/config';
import { circuitBreakerConfigFromEnv } from '../options/env.config.js';

/**
 * The environment configuration (README "Environment variables") as an `@nestjs/config` namespace (`circuitBreaker`):
 * read when `ConfigModule` loads it, so variables from a `.env` file are seen.
 *
 * @example
 * ConfigModule.forRoot({ load: [circuitBreakerConfig] }),
 * CircuitBreakerModule.forRootAsync(circuitBreakerConfig.asProvider()),
 */
export const circuitBreakerConfig = registerAs('circuitBreaker', () => circuitBreakerConfigFromEnv(process.env));
