import { createHash } from 'node:crypto';

/** A Lua script, run by its SHA1 (EVALSHA) and sent whole only when Redis does not know it yet. */
export interface RedisScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): RedisScript {
  return Object.freeze({ source, sha: createHash('sha1').update(source).digest('hex') });
}

/**
 * Last writer wins: stores a transition unless the stored one is newer, then clears the half-open
 * lease and broadcasts. KEYS: state, lease. ARGV: transition JSON, its `at`, TTL in ms ('' = none),
 * channel, message. Returns the newer stored transition when this one lost, else nil.
 */
export const WRITE_SCRIPT = script(`
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  local at = ok and type(decoded) == 'table' and tonumber(decoded['at']) or nil
  local incoming = tonumber(ARGV[2])
  if at and at > incoming then return current end
  if at and at == incoming and current == ARGV[1] then return false end
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
redis.call('DEL', KEYS[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return false
`);

/**
 * Takes one of ARGV[2] half-open leases for the token ARGV[1], expiring after ARGV[3] ms (on the
 * server's clock). KEYS: leases (a sorted set: token → expiry). Expired leases are dropped first.
 * Returns 1 when granted, else 0.
 */
export const LEASE_SCRIPT = script(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`);

/** Gives back the half-open lease of token ARGV[1] (nothing when it is gone). KEYS: leases. */
export const RELEASE_SCRIPT = script(`
redis.call('ZREM', KEYS[1], ARGV[1])
return 0
`);

/**
 * The marker of the shared data: set to ARGV[1] when missing (a new server, FLUSHALL, eviction).
 * KEYS: marker. Returns the stored marker.
 */
export const MARKER_SCRIPT = script(`
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`);
