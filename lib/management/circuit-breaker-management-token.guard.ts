import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from '../constants.js';
import type { ResolvedCircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { headerOf, requestOf, setResponseHeader } from './http-context.js';
import { MISSING_TOKEN_MESSAGE, WRONG_TOKEN_MESSAGE, writesNotConfiguredMessage } from './management.messages.js';

const BEARER = /^Bearer +(\S.*)$/i;

/** SHA-256 digests have one length whatever the token's, so the comparison leaks neither. */
const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Guards the management writes (POST), after {@link CircuitBreakerManagementGuard}: with
 * `management.token`, the request needs `Authorization: Bearer <token>` (compared in constant time;
 * 401 when missing or wrong); without a token, `management.guards` must be configured (they already
 * ran); with neither, writes answer 403 saying how to enable them.
 */
@Injectable()
export class CircuitBreakerManagementTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(@Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) private readonly options: ResolvedCircuitBreakerModuleOptions) {
    const token = options.management?.token;
    this.expected = token === undefined ? undefined : digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const management = this.options.management;
    if (this.expected === undefined) {
      if (management !== undefined && management.guards.length > 0) return true;
      throw new ForbiddenException(writesNotConfiguredMessage(management?.path ?? ''));
    }
    const match = BEARER.exec(headerOf(requestOf(context), 'authorization')?.trim() ?? '');
    if (match === null) {
      setResponseHeader(context, 'WWW-Authenticate', 'Bearer');
      throw new UnauthorizedException(MISSING_TOKEN_MESSAGE);
    }
    if (!timingSafeEqual(digest(match[1]!), this.expected)) {
      setResponseHeader(context, 'WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new UnauthorizedException(WRONG_TOKEN_MESSAGE);
    }
    return true;
  }
}
