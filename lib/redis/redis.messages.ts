// Every user-facing message of the Redis store, in one place (shared store messages: lib/store/store.messages.ts).

export const REDIS_EXPECTED = {
  client: 'expected an ioredis client (`new Redis(...)` from ioredis ^5 or ^6)',
  keyPrefix: 'expected a string',
} as const;
