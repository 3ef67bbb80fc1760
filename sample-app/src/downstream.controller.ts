import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { type DownstreamBehaviour, FlakyDownstream } from './flaky-downstream.js';

/**
 * `GET /downstream/config` shows, `POST /downstream/config { failureRate?, latencyMs? }` changes it.
 * Both answer 409 with `DOWNSTREAM_URL`: the downstream is not simulated by this process then.
 */
@Controller('downstream/config')
export class DownstreamController {
  constructor(private readonly downstream: FlakyDownstream) {}

  @Get()
  show(): DownstreamBehaviour {
    this.assertSimulated();
    return this.downstream.config;
  }

  @Post()
  @HttpCode(200)
  change(@Body() body: Record<string, unknown> | undefined): DownstreamBehaviour {
    this.assertSimulated();
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

  private assertSimulated(): void {
    if (this.downstream.external) {
      throw new ConflictException(`The downstream is external (DOWNSTREAM_URL=${this.downstream.url}): change its behaviour there`);
    }
  }
}
