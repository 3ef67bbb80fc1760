import { describe, expect, it } from '@jest/globals';
import type { ArgumentsHost } from '@nestjs/common';
import { firstValueFrom, type Observable } from 'rxjs';
import { CircuitBreakerLimitError, CircuitBreakerNameError } from '../registry/registry.errors.js';
import { CircuitBreakerExceptionFilter } from './circuit-breaker-exception.filter.js';

/** A host of `type`; a WebSocket host's client records what it is sent. */
function hostOf(type: string, sent: unknown[] = []): ArgumentsHost {
  const client = { emit: (event: string, data: unknown) => sent.push({ event, data }) };
  return { getType: () => type, switchToWs: () => ({ getClient: () => client }) } as unknown as ArgumentsHost;
}

const nameError = () => new CircuitBreakerNameError({ path: 'name', expected: 'expected a breaker name matching /^[A-Za-z0-9._:-]{1,128}$/', value: 'a b' });
const limitError = () => new CircuitBreakerLimitError('tenant-9', 8);

describe('CircuitBreakerExceptionFilter on registry errors, outside HTTP', () => {
  const filter = new CircuitBreakerExceptionFilter();

  it('GraphQL: an error whose extensions carry a code other than INTERNAL_SERVER_ERROR', () => {
    expect(filter.catch(nameError(), hostOf('graphql'))).toMatchObject({
      message: 'Invalid circuit breaker name "a b": expected a breaker name matching /^[A-Za-z0-9._:-]{1,128}$/',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(filter.catch(limitError(), hostOf('graphql'))).toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE', breaker: 'tenant-9', max_breakers: 8 } });
  });

  it('RPC: an error carrying the fields of the HTTP body', async () => {
    const rejected = (o: unknown) => firstValueFrom(o as Observable<never>).catch((e: unknown) => e);
    expect(await rejected(filter.catch(nameError(), hostOf('rpc')))).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(await rejected(filter.catch(limitError(), hostOf('rpc')))).toMatchObject({ statusCode: 503, breaker: 'tenant-9', max_breakers: 8 });
  });

  it('WebSockets: an exception event with them; another transport: left to Nest', () => {
    const sent: unknown[] = [];
    filter.catch(limitError(), hostOf('ws', sent));
    expect(sent).toEqual([{ event: 'exception', data: expect.objectContaining({ statusCode: 503, error: 'Service Unavailable', breaker: 'tenant-9' }) }]);
    expect(filter.catch(nameError(), hostOf('kafka-custom'))).toBeUndefined();
  });
});
