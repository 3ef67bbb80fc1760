import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  NotFoundException,
  Param,
  type PipeTransform,
  Post,
  Query,
  Req,
  Res,
  ServiceUnavailableException,
  StreamableFile,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { type Breaker, type CircuitBreakerSnapshot, CIRCUIT_STATES, type CircuitState } from '../core/index.js';
import { BREAKER_NAME_PATTERN, CIRCUIT_BREAKER_LOGGER_CONTEXT, CIRCUIT_BREAKER_MODULE_OPTIONS } from '../constants.js';
import type { ResolvedCircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';
import { breakerListStream } from './breaker-list.js';
import { CircuitBreakerManagementTokenGuard } from './circuit-breaker-management-token.guard.js';
import { CircuitBreakerManagementGuard } from './circuit-breaker-management.guard.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY, renderDashboard } from './dashboard.page.js';
import { eventStreamFullMessage } from './dashboard.messages.js';
import { circuitBreakerEventStream } from './event-stream.js';
import { EVENT_STREAM_RETRY_AFTER_SECONDS, EventStreamClients, type EventStreamRequest, type EventStreamResponse } from './event-stream-clients.js';
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

/** Express's `req`, or Fastify's request with the Node request as `raw`. */
type StreamRequest = EventStreamRequest & { raw?: EventStreamRequest };

/** Express's `res` (a Node response itself), or Fastify's reply with the Node response as `raw`. */
interface StreamReply {
  raw?: EventStreamResponse;
  /** Express `res.header` and Fastify `reply.header` */
  header(name: string, value: string): unknown;
  /** Fastify: the headers it keeps apart from the raw response until it sends (CORS, say) */
  getHeaders?(): Record<string, unknown>;
  /** Fastify: the raw response is written by the route from here on */
  hijack?(): unknown;
}

/** Fastify's own headers as `writeHead` takes them (Express's are on the raw response already). */
function keptHeaders(reply: StreamReply): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(reply.getHeaders?.() ?? {})) {
    if (typeof value === 'string' || typeof value === 'number') headers[name] = String(value);
  }
  return headers;
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
  /** the clients of `events`, within `management.events` */
  private readonly eventClients: EventStreamClients;

  constructor(
    private readonly registry: CircuitBreakerRegistry,
    @Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) options: ResolvedCircuitBreakerModuleOptions,
  ) {
    this.eventClients = new EventStreamClients(options.management?.events, new Logger(CIRCUIT_BREAKER_LOGGER_CONTEXT));
  }

  /**
   * Every breaker's snapshot, with a summary; `?state=open,half_open` lists only the breakers in
   * those states (the summary still counts every breaker).
   */
  @Get()
  @Header('Cache-Control', 'no-store')
  list(@Query('state', StateFilterPipe) states?: ReadonlySet<CircuitState>): StreamableFile {
    return this.listOf(states);
  }

  /** The registry's snapshot as JSON, written in slices (breaker-list.ts): thousands of breakers never stall the loop. */
  private listOf(states?: ReadonlySet<CircuitState>): StreamableFile {
    return new StreamableFile(breakerListStream(this.registry, states), { type: 'application/json; charset=utf-8' });
  }

  /**
   * Server-Sent Events: every state change (`?calls=true`: every call's outcome too); 503 with
   * `Retry-After` while `management.events.maxClients` clients stream. Written to the raw response
   * rather than through `@Sse()`, so that what waits for each client is known and bounded.
   */
  @Get('events')
  events(@Req() request: StreamRequest, @Res() reply: StreamReply, @Query('calls') calls?: string): void {
    const clients = this.eventClients;
    if (clients.full) {
      reply.header('Retry-After', String(EVENT_STREAM_RETRY_AFTER_SECONDS));
      throw new ServiceUnavailableException({
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: eventStreamFullMessage(clients.maxClients, EVENT_STREAM_RETRY_AFTER_SECONDS),
        maxClients: clients.maxClients,
      });
    }
    const events = circuitBreakerEventStream(this.registry, { perCall: calls === 'true' });
    if (reply.raw === undefined) {
      clients.serve(request, reply as unknown as EventStreamResponse, events);
      return;
    }
    const headers = keptHeaders(reply);
    reply.hijack?.();
    clients.serve(request.raw ?? request, reply.raw, events, headers);
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
  resetAll(): StreamableFile {
    this.registry.resetAll();
    return this.listOf();
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
