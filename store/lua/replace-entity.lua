--[[
  replace-entity: a backfill write of ONE entity (all its hashes share a hash tag: one
  slot). Per tile hash, atomically: delete the given series' tiles in [clearFrom, clearTo),
  store the recomputed fields, raise the clocks, evict. Running it twice leaves the same
  state. The online writer is apply-entity.lua; this script keeps its layout and rules
  (header there: _hi, _evc, _v, the tile index; include/tile-hash.lua: eviction, _edue,
  _ttl) and differs only in how it gets there:
  every field it writes was just cleared, so it receives final values (no ops, no reads).

  KEYS[1]      meta hash of the entity (only its retention is refreshed, on every call)
  KEYS[2..]    pairs: tile hash of the entity (one per tile size), then its tile index
               (ZSET: member = tile index in base 36, score = the tile's event-time expiry)

  ARGV[1]      retention (ms) of the meta hash: PEXPIRE
  ARGV[2]      version token, never used before: stored in field _v of every tile hash
  then, for each (tile hash, index) pair in KEYS order:
    ttlMs      PEXPIRE of the hash and its index (wall-clock retention)
    tiles      MessagePack array of strings: expireAt1, tileIndex36_1, expireAt2, ...: per
               tile written its event-time expiry (ms) and index (base 36, the field prefix),
               in ZADD's argument order
    lowest     the smallest expireAt in tiles ('' when there are none)
    clearFrom  first tile index (decimal) to clear
    clearTo    tile index (decimal) after the last one to clear
    minScore   no tile in [clearFrom, clearTo) can have an index score below it (its end)
    clock      the entity's largest event time in this hash in the chunk, dropped tiles
               and every ':hi' field below included (-1: none); raises _hi
    evicted    the largest expiry of the chunk's tiles dropped as dead instead of written
               (-1: none); _evc is raised to it
    nClear     number of series ids that follow (0: nothing is cleared)
    series     the series ids whose tiles in the range are cleared
    fields     MessagePack array of strings: field1, value1, field2, value2, ...:
               stored as is (HSET)

  Returns 1.

  Why the tile index decides whether to clear: every writer adds each tile it writes to
  the index in the same call, and only the sweep (include/tile-hash.lua) removes members,
  after deleting their fields; so a tile with fields in the hash is in the index. Looking
  up the index (a few hundred members at most, and only those expiring after the range
  starts) instead of listing every field of the hash (HKEYS, thousands) skips the clear
  when no tile of the range is stored, which is every chunk of a fresh backfill.
]]
local version = ARGV[2]
-- A write that leaves its hash with more fields than this converts it to a hashtable
-- first (`_bulk` below). Above Redis's hash-max-listpack-entries (512 by default) it is a
-- hashtable in the end anyway; from 129 to 512 fields the conversion trades memory for CPU:
-- on the bench's data, Redis CPU -15% and memory +7% against converting above 512 only
-- (since the `t` summaries, hashes have half the fields, so many more stay listpacks).
local LISTPACK_ENTRIES = 128
-- Longer than any hash-max-listpack-value a deployment plausibly sets (default 64).
local LONG_VALUE = string.rep('x', 1025)

--#include tile-hash.lua

-- Deletes the fields of `series` in the stored tiles of [from, to); the HKEYS sweep runs
-- only when the index holds such a tile.
local function clearTiles(key, index, from, to, minScore, series)
  local stored = {}
  local any = false
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', index, minScore, '+inf')) do
    local n = tonumber(t, 36)
    if n and n >= from and n < to then stored[t] = true; any = true end
  end
  if not any then return end
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local c1 = string.find(f, ':', 1, true)
    if c1 and stored[string.sub(f, 1, c1 - 1)] then
      local c2 = string.find(f, ':', c1 + 1, true)
      if c2 and series[string.sub(f, c1 + 1, c2 - 1)] then
        del[#del + 1] = f
        if #del >= 500 then redis.call('HDEL', key, unpack(del)); del = {} end
      end
    end
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
end

local a = 3
for k = 2, #KEYS, 2 do
  local key, index = KEYS[k], KEYS[k + 1]
  local ttl = ARGV[a]
  -- Why the tiles come as one MessagePack array (the fields too, below): as ARGV pairs
  -- they cost the client two strings and two command arguments per tile, and this script
  -- a tonumber and two table inserts per tile (1.44 tiles per event in the bench's data).
  local tiles = cmsgpack.unpack(ARGV[a + 1])
  local lowest = tonumber(ARGV[a + 2]) or math.huge
  a = a + 3
  local from, to, minScore = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2]
  local chunkClock, evicted = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local nClear = tonumber(ARGV[a + 5])
  a = a + 6
  -- The store fields, before anything is written (the clear below never deletes them).
  local values = redis.call('HMGET', key, unpack(HASH_FIELDS))
  local stored = {}
  for i, f in ipairs(HASH_FIELDS) do stored[f] = values[i] end
  if nClear > 0 then
    local series = {}
    for i = 0, nClear - 1 do series[ARGV[a + i]] = true end
    clearTiles(key, index, from, to, minScore, series)
    a = a + nClear
  end
  -- After the clear, which must see only the tiles stored before this call.
  local added = addTileList(index, ttl, tiles)
  -- Why one MessagePack string: one ARGV string per hash instead of two per field costs
  -- the client and Redis several times less (measured), and cmsgpack splits it in C, 3x
  -- faster than string.find/sub did. No value depends on the stored one: no reads, one
  -- HSET per 2,000 fields.
  local fields = cmsgpack.unpack(ARGV[a])
  a = a + 1
  -- Why `_bulk`: a small hash is a listpack, where HSET finds each field by a linear scan,
  -- so writing n fields into one costs n^2/2 comparisons until Redis converts it at
  -- hash-max-listpack-entries: a fresh 500-field write took 10x the time of the same
  -- write into a hashtable (BENCHMARKS.md, "Backfill: large writes into listpack hashes").
  -- A field whose value is longer than hash-max-listpack-value converts the hash at once,
  -- so a write that would end above LISTPACK_ENTRIES fields converts first. Removed at
  -- the end of this hash's write (a hashtable never converts back); readers never see it.
  local bulk = #fields > 0 and redis.call('HLEN', key) + #fields / 2 > LISTPACK_ENTRIES
  if bulk then redis.call('HSET', key, '_bulk', LONG_VALUE) end
  for i = 1, #fields, 4000 do redis.call('HSET', key, unpack(fields, i, math.min(i + 3999, #fields))) end
  local h = {}
  local clock = tonumber(stored['_hi'] or '-1')
  if chunkClock > clock then clock = chunkClock end
  h[#h + 1] = '_hi'; h[#h + 1] = tostring(clock)
  h[#h + 1] = '_v'; h[#h + 1] = version
  -- Tiles dropped as dead (expiry <= evicted <= clock) were not written: as after an
  -- eviction, readers must treat tiles expiring up to there as possibly gone.
  local evc = tonumber(stored['_evc'] or '-1')
  if evicted >= 0 and evicted > evc then
    evc = evicted
    h[#h + 1] = '_evc'; h[#h + 1] = tostring(evicted)
  end
  finishHash(key, index, ttl, h, clock, evc, stored, added, lowest)
  if bulk then redis.call('HDEL', key, '_bulk') end
end

redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
