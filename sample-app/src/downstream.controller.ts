import { BadRequestException, Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { type DownstreamBehaviour, FlakyDownstream } from './flaky-downstream.js';

/** `GET /downstream/config` shows, `POST /downstream/config { failureRate?, latencyMs? }` changes it. */
@Controller('downstream/config')
export class DownstreamController {
  constructor(private readonly downstream: FlakyDownstream) {}

  @Get()
  show(): DownstreamBehaviour {
    return this.downstream.config;
  }

  @Post()
  @HttpCode(200)
  change(@Body() body: Record<string, unknown> | undefined): DownstreamBehaviour {
    const { failureRate, latencyMs } = body ?? {};
    const problems: string[] = [];
    if (failureRate !== undefined && !(typeof failureRate === 'number' && failureRate >= 0 && failureRate <= 1)) {
      problems.push(`failureRate must be a number from 0 to 1, got ${JSON.stringify(failureRate)}`);
    }
    if (latencyMs !== undefined && !(typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0)) {
      problems.push(`latencyMs must be a number of milliseconds >= 0, got ${JSON.stringify(latencyMs)}`);
    }
    if (problems.length > 0) throw new BadRequestException(problems);
    return this.downstream.configure({
      ...(failureRate !== undefined && { failureRate: failureRate as number }),
      ...(latencyMs !== undefined && { latencyMs: latencyMs as number }),
    });
  }
}
