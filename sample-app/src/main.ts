import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { SAMPLE_ADMIN_TOKEN } from './circuit-breaker.options.js';

/** `PORT` (default 3000; 0 picks a free port) and `HOST` (default 127.0.0.1: the sample's token is public). */
function listenAddress(env: NodeJS.ProcessEnv): { port: number; host: string } {
  const raw = env.PORT?.trim() || '3000';
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) throw new Error(`PORT=${JSON.stringify(env.PORT)}: expected a port number from 0 to 65535`);
  return { port, host: env.HOST?.trim() || '127.0.0.1' };
}

async function bootstrap(): Promise<void> {
  const { port, host } = listenAddress(process.env);
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  await app.listen(port, host);
  const url = `http://localhost:${(app.getHttpServer().address() as AddressInfo).port}`;
  const logger = new Logger('SampleApp');
  if (!process.env.CIRCUIT_BREAKER_ADMIN_TOKEN?.trim()) {
    logger.warn(`CIRCUIT_BREAKER_ADMIN_TOKEN is not set: management writes take the sample's default token "${SAMPLE_ADMIN_TOKEN}" (never use it outside this sample)`);
  }
  logger.log(`Sample app listening on ${url}`);
  logger.log(`Try: curl ${url}/products · ${url}/circuit-breakers · ${url}/health/detailed · dashboard: ${url}/circuit-breakers/dashboard`);
}

await bootstrap();
