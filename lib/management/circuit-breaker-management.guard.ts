import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, NotFoundException, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from '../constants.js';
import type { ResolvedCircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { requestOf, requestUrl } from './http-context.js';
import { FORBIDDEN_MESSAGE, routeNotFoundMessage } from './management.messages.js';

/**
 * Guards every management route: while `management.enabled` is not true the route answers 404, as
 * if it did not exist; otherwise every guard of `management.guards` must let the request through
 * (403 otherwise, as Nest answers for a guard returning false).
 *
 * `management.guards` may come from a `forRootAsync` factory, so they cannot be `@UseGuards`
 * metadata: a guard class is taken from the application's providers when it is one of them, and
 * otherwise instantiated once with its dependencies resolved like a provider of the module.
 */
@Injectable()
export class CircuitBreakerManagementGuard implements CanActivate {
  private userGuards: Promise<CanActivate[]> | undefined;

  constructor(
    @Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) private readonly options: ResolvedCircuitBreakerModuleOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const management = this.options.management;
    if (management?.enabled !== true) {
      const request = requestOf(context);
      throw new NotFoundException(routeNotFoundMessage(request.method ?? 'GET', requestUrl(request)));
    }
    if (management.guards.length === 0) return true;
    this.userGuards ??= this.instantiate(management.guards).catch((error: unknown) => {
      this.userGuards = undefined; // a guard that failed to build is tried again on the next request
      throw error;
    });
    for (const guard of await this.userGuards) {
      const verdict = guard.canActivate(context);
      const allowed = isObservable(verdict) ? await lastValueFrom(verdict) : await verdict;
      if (!allowed) throw new ForbiddenException(FORBIDDEN_MESSAGE);
    }
    return true;
  }

  private async instantiate(guards: readonly (Type<CanActivate> | CanActivate)[]): Promise<CanActivate[]> {
    const instances: CanActivate[] = [];
    for (const guard of guards) {
      if (typeof guard !== 'function') {
        instances.push(guard);
        continue;
      }
      let instance: CanActivate | undefined;
      try {
        instance = this.moduleRef.get(guard, { strict: false });
      } catch {
        instance = undefined; // not a provider of the application
      }
      instances.push(instance ?? (await this.moduleRef.create(guard)));
    }
    return instances;
  }
}
