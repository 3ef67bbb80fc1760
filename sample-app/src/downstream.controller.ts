import { BadRequestException, Body, ConflictException, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { type Carrier, CARRIERS, type DownstreamBehaviour, FlakyDownstream } from './flaky-downstream.js';

/**
 * `GET /downstream/config` shows, `POST /downstream/config { failureRate?, latencyMs?, carriersDown? }` changes it.
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
    const { failureRate, latencyMs, carriersDown } = body ?? {};
    const problems: string[] = [];
    if (failureRate !== undefined && !(typeof failureRate === 'number' && failureRate >= 0 && failureRate <= 1)) {
      problems.push(`failureRate must be a number from 0 to 1, got ${JSON.stringify(failureRate)}`);
    }
    if (latencyMs !== undefined && !(typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0)) {
      problems.push(`latencyMs must be a number of milliseconds >= 0, got ${JSON.stringify(latencyMs)}`);
    }
    if (carriersDown !== undefined && !(Array.isArray(carriersDown) && carriersDown.every((c) => (CARRIERS as readonly unknown[]).includes(c)))) {
      problems.push(`carriersDown must be a list of carriers among ${CARRIERS.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(carriersDown)}`);
    }
    if (problems.length > 0) throw new BadRequestException(problems);
    return this.downstream.configure({
      ...(failureRate !== undefined && { failureRate: failureRate as number }),
      ...(latencyMs !== undefined && { latencyMs: latencyMs as number }),
      ...(carriersDown !== undefined && { carriersDown: [...new Set(carriersDown as Carrier[])] }),
    });
  }

  private assertSimulated(): void {
    if (this.downstream.external) {
      throw new ConflictException(`The downstream is external (DOWNSTREAM_URL=${this.downstream.url}): change its behaviour there`);
    }
  }
}
