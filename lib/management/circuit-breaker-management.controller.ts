import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  type MessageEvent,
  NotFoundException,
  Param,
  type PipeTransform,
  Post,
  Query,
  Req,
  Sse,
  type Type,
  UseGuards,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { type Breaker, type CircuitBreakerSnapshot, CIRCUIT_STATES, type CircuitState } from '../core/index.js';
import { BREAKER_NAME_PATTERN } from '../constants.js';
import { CircuitBreakerRegistry, type CircuitBreakerRegistrySnapshot } from '../registry/circuit-breaker.registry.js';
import { CircuitBreakerManagementTokenGuard } from './circuit-breaker-management-token.guard.js';
import { CircuitBreakerManagementGuard } from './circuit-breaker-management.guard.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY, renderDashboard } from './dashboard.page.js';
import { circuitBreakerEventStream } from './event-stream.js';
import { requestUrl } from './http-context.js';
import { badBreakerNameMessage, badStateFilterMessage, unknownBreakerMessage } from './management.messages.js';

/** 400 for a name no breaker of a registry can have. */
class BreakerNamePipe implements PipeTransform<string, string> {
  transform(name: string): string {
    if (!BREAKER_NAME_PATTERN.test(name)) throw new BadRequestException(badBreakerNameMessage(name, BREAKER_NAME_PATTERN));
    return name;
  }
}

/**
 * `?state=open,half_open` (or the parameter repeated) as a set of states; undefined without the
 * parameter; 400 naming a value that is not a state.
 */
class StateFilterPipe implements PipeTransform<unknown, ReadonlySet<CircuitState> | undefined> {
  transform(value: unknown): ReadonlySet<CircuitState> | undefined {
    if (value === undefined) return undefined;
    const states = new Set<CircuitState>();
    for (const part of (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','))) {
      const state = part.trim();
      if (!(CIRCUIT_STATES as readonly string[]).includes(state)) throw new BadRequestException(badStateFilterMessage(state, CIRCUIT_STATES));
      states.add(state as CircuitState);
    }
    return states;
  }
}

/**
 * The routes of the management API (README "Management API"), mounted under `management.path` by
 * {@link managementControllers}. Every route goes through {@link CircuitBreakerManagementGuard}
 * (404 while disabled, then `management.guards`); writes also through
 * {@link CircuitBreakerManagementTokenGuard}. No route creates a breaker.
 *
 * The fixed routes (`events`, `dashboard`, `reset-all`) are declared before `:name`, so that the
 * router matches them first; those names are reserved, no breaker of a registry can have them.
 */
@UseGuards(CircuitBreakerManagementGuard)
export class CircuitBreakerManagementRoutes {
  constructor(private readonly registry: CircuitBreakerRegistry) {}

  /**
   * Every breaker's snapshot, with a summary; `?state=open,half_open` lists only the breakers in
   * those states (the summary still counts every breaker).
   */
  @Get()
  @Header('Cache-Control', 'no-store')
  list(@Query('state', StateFilterPipe) states?: ReadonlySet<CircuitState>): CircuitBreakerRegistrySnapshot {
    const snapshot = this.registry.snapshot();
    if (states === undefined) return snapshot;
    const breakers: Record<string, CircuitBreakerSnapshot> = {};
    for (const name in snapshot.breakers) {
      const breaker = snapshot.breakers[name]!;
      if (states.has(breaker.state)) breakers[name] = breaker;
    }
    return { ...snapshot, breakers };
  }

  /** Server-Sent Events: every state change (`?calls=true`: every call's outcome too). */
  @Sse('events')
  events(@Query('calls') calls?: string): Observable<MessageEvent> {
    return circuitBreakerEventStream(this.registry, { perCall: calls === 'true' });
  }

  /** The live dashboard page (no external assets), fed by `events`. */
  @Get('dashboard')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CONTENT_SECURITY_POLICY)
  @Header('Cache-Control', 'no-store')
  dashboard(@Req() request: { originalUrl?: string; url?: string }): string {
    // From the URL the browser used, so that a global prefix or a proxy's mount point is kept.
    const basePath = requestUrl(request).replace(/[?#].*$/, '').replace(/\/dashboard\/?$/i, '');
    return renderDashboard({ basePath });
  }

  /** Every breaker back to `closed`, statistics cleared. */
  @Post('reset-all')
  @HttpCode(200)
  @UseGuards(CircuitBreakerManagementTokenGuard)
  resetAll(): CircuitBreakerRegistrySnapshot {
    this.registry.resetAll();
    return this.registry.snapshot();
  }

  /** One breaker's snapshot; 404 for an unknown name. */
  @Get(':name')
  @Header('Cache-Control', 'no-store')
  one(@Param('name', BreakerNamePipe) name: string): CircuitBreakerSnapshot {
    return this.existing(name).snapshot();
  }

  /** Back to `closed`, statistics cleared. */
  @Post(':name/reset')
  @HttpCode(200)
  @UseGuards(CircuitBreakerManagementTokenGuard)
  reset(@Param('name', BreakerNamePipe) name: string): CircuitBreakerSnapshot {
    return this.write(name, 'reset');
  }

  /** `forced_open` (rejects every call) until reset. */
  @Post(':name/force-open')
  @HttpCode(200)
  @UseGuards(CircuitBreakerManagementTokenGuard)
  forceOpen(@Param('name', BreakerNamePipe) name: string): CircuitBreakerSnapshot {
    return this.write(name, 'forceOpen');
  }

  /** `disabled` (every call passes, outcomes still counted) until reset. */
  @Post(':name/disable')
  @HttpCode(200)
  @UseGuards(CircuitBreakerManagementTokenGuard)
  disable(@Param('name', BreakerNamePipe) name: string): CircuitBreakerSnapshot {
    return this.write(name, 'disable');
  }

  /** Applies a registry action to an existing breaker (404 otherwise) and returns its snapshot after. */
  private write(name: string, action: 'reset' | 'forceOpen' | 'disable'): CircuitBreakerSnapshot {
    const breaker = this.existing(name);
    this.registry[action](name);
    return breaker.snapshot();
  }

  /** The breaker, never created here: 404 when the registry has none of that name. */
  private existing(name: string): Breaker {
    const breaker = this.registry.get(name);
    if (breaker === undefined) throw new NotFoundException(unknownBreakerMessage(name));
    return breaker;
  }
}

/**
 * The management controller mounted at `path` (the module calls this with `management.path`, or
 * with the `management` extra of `forRootAsync`).
 */
export function managementControllers(path: string): Type[] {
  @Controller(path)
  class CircuitBreakerManagementController extends CircuitBreakerManagementRoutes {}
  return [CircuitBreakerManagementController];
}
