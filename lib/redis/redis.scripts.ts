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

/** Takes one of ARGV[1] half-open leases, expiring after ARGV[2] ms. KEYS: lease. Returns 1 when granted, else 0. */
export const LEASE_SCRIPT = script(`
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], held + 1, 'PX', ARGV[2])
return 1
`);

/** Gives back one half-open lease (DECR keeps the expiry). KEYS: lease. */
export const RELEASE_SCRIPT = script(`
local held = tonumber(redis.call('GET', KEYS[1]) or '0')
if held <= 1 then
  redis.call('DEL', KEYS[1])
else
  redis.call('DECR', KEYS[1])
end
return 0
`);
