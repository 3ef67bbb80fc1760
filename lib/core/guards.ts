// Type guards shared by the engine and the Nest layer: one definition of each.

/** A promise or any object with a `then` method (a thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Any non-null object, arrays included. */
export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** A non-null object that is not an array: an options object, a record of entries by name. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
