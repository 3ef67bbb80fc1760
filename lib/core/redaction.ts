import { describeValue } from './errors.js';

// What may appear in an error message or a log line when secrets sit nearby: one place for the rules.

/**
 * A short reason for a store failure, safe to log: an error code (`ECONNREFUSED`) when there is one,
 * else the message with any credentials in a connection URL masked.
 */
export function describeStoreError(error: unknown): string {
  // Duck-typed: errors from Node's own modules may come from another realm (VM contexts, test runners).
  if (error !== null && typeof error === 'object' && typeof (error as Error).message === 'string') {
    const { code, name, message } = error as Error & { code?: unknown };
    const text = typeof code === 'string' && code !== '' ? code : `${typeof name === 'string' ? name : 'Error'}: ${message}`;
    return redactCredentials(text);
  }
  return redactCredentials(describeValue(error));
}

/**
 * What failed, without the message (which may carry hosts, queries, secrets): an error's class name,
 * or the kind of a value that `isFailureResult` flagged (`object`, `null`…). For dashboards and spans.
 */
export function errorKind(error: unknown): string {
  if (error instanceof Error) return error.name;
  return error === null ? 'null' : typeof error;
}

/** `redis://user:secret@host` → `redis://***@host`: a log line never carries a password. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, '$1***@');
}

/**
 * A value to quote in a configuration error about store options, which sit next to connection
 * secrets: text keeps no URL credentials, an object is named by its class only.
 */
export function safeOptionValue(value: unknown): unknown {
  if (typeof value === 'string') return redactCredentials(value);
  if (value !== null && typeof value === 'object') return `[${value.constructor?.name ?? 'Object'} object]`;
  return value;
}
