import type { ExecutionContext } from '@nestjs/common';

// The few request/response accesses the management API needs, for Express and Fastify alike.

interface HttpRequestLike {
  method?: string;
  url?: string;
  /** Express (and Fastify 4+): the URL before any mount point was stripped */
  originalUrl?: string;
  headers?: Record<string, string | string[] | undefined>;
}

interface HttpResponseLike {
  /** Express `res.header(name, value)` and Fastify `reply.header(name, value)` */
  header?: (name: string, value: string) => unknown;
  setHeader?: (name: string, value: string) => unknown;
}

export function requestOf(context: ExecutionContext): HttpRequestLike {
  return context.switchToHttp().getRequest<HttpRequestLike>();
}

/** The full URL path of the request (with any global prefix), query string included. */
export function requestUrl(request: HttpRequestLike): string {
  return request.originalUrl ?? request.url ?? '/';
}

export function headerOf(request: HttpRequestLike, name: string): string | undefined {
  const value = request.headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

export function setResponseHeader(context: ExecutionContext, name: string, value: string): void {
  const response = context.switchToHttp().getResponse<HttpResponseLike>();
  if (typeof response.header === 'function') response.header(name, value);
  else response.setHeader?.(name, value);
}
