-- Shared by apply-entity.lua and replace-entity.lua (store/scripts.ts inlines this file
-- where a script says --#include evict.lua): both writers evict by the same rule.
-- Deletes the fields of tiles whose expiry <= the hash's event-time clock. Amortised: the
-- HKEYS sweep runs only once dead tiles are at least an eighth of the live ones (or 64), so
-- a write costs O(log n) for the check; dead tiles left until then are outside every window
-- readers can still ask about (readers treat them as possibly gone).
local function evict(key, index, eventClock)
  local first = redis.call('ZRANGEBYSCORE', index, '-inf', eventClock, 'LIMIT', 0, 1)
  if #first == 0 then return end
  local dead = redis.call('ZCOUNT', index, '-inf', eventClock)
  local live = redis.call('ZCARD', index)
  if dead < 64 and dead * 8 < live then return end
  local tiles = redis.call('ZRANGEBYSCORE', index, '-inf', eventClock)
  local deadTile = {}
  for _, t in ipairs(tiles) do deadTile[t] = true end
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local colon = string.find(f, ':', 1, true)
    if colon and deadTile[string.sub(f, 1, colon - 1)] then
      del[#del + 1] = f
      if #del >= 500 then redis.call('HDEL', key, unpack(del)); del = {} end
    end
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', eventClock)
  -- Readers: tiles with expiry <= _evc may be gone; every later tile is complete.
  local previous = tonumber(redis.call('HGET', key, '_evc') or '-1')
  if eventClock > previous then redis.call('HSET', key, '_evc', tostring(eventClock)) end
end
