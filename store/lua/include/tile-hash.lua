-- Shared by apply-entity.lua and replace-entity.lua (store/scripts.ts inlines this file
-- where a script says --#include tile-hash.lua): both writers keep a tile hash's index,
-- eviction and retention by the same rules, and read the hash's own fields in the one
-- HMGET they make anyway, so a write whose hash needs no eviction and no TTL refresh costs
-- ZADD, HMGET and HSET only.
--
-- Store fields of a tile hash kept here (readers skip every field starting with '_'):
--   _edue  a lower bound of the event-time clock at which evict has something to sweep
--          (nextSweep). Adding tiles can only lower that clock to the smallest expiry
--          added (ZADD GT only raises existing scores), so writers lower _edue to it; it
--          is set exactly when evict looks at the index. Absent: unknown, look.
--   _ttl   wall-clock ms (Redis TIME) of the last PEXPIRE of the hash and its index.
--          Retentions carry 24 h of slack (store/tile-store.ts WALL_SLACK_MS), so one
--          refresh per REFRESH_MS keeps every key at least as long as the data needs.
--          A key never lives without a TTL: a hash without _ttl (new, or expired and
--          rewritten) is refreshed in the same call, and so is an index that gained
--          members (a new index, also one that an eviction had emptied).

-- Read by both writers' HMGET, in this order, before their own fields. apply-entity.lua
-- copies the four by position and by name (table constructors: cheaper than loops per hash).
local HASH_FIELDS = { '_hi', '_evc', '_edue', '_ttl' }
-- 2^53: later than any expiry; the _edue of an empty index
local NEVER = 9007199254740992
local REFRESH_MS = 600000

local function fmt(n) return string.format('%.17g', n) end

local wallMs
local function wallNow()
  if not wallMs then
    local t = redis.call('TIME')
    wallMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return wallMs
end

-- Whether a key last refreshed at `stamp` (its _ttl field; false: never) needs PEXPIRE now.
-- A stamp in the future (another clock) counts as due: refreshing too often is harmless.
local function retentionDue(stamp)
  local s = stamp and tonumber(stamp)
  if not s then return true end
  local now = wallNow()
  return now < s or now - s >= REFRESH_MS
end

-- Adding tiles to the index: ZADD GT keeps the largest expiry a tile has been given
-- (features of several windows share it). One ZADD per 500 tiles. An index that gained
-- members (new, or recreated after an eviction emptied it) gets its TTL here, right
-- after the ZADD: a later error in the same call (Redis keeps a failed script's earlier
-- writes) must not leave it without one, and a retry adds no member.
--
-- Why `_skiplist`: a small index is a listpack, where ZADD finds each member by a linear
-- scan (and each position by parsing scores), so adding n members into one costs ~n^2/2
-- until Redis converts it at zset-max-listpack-entries: 128 ascending tiles into a fresh
-- index took 316 us, 47 us into a skiplist (BENCHMARKS.md, "Backfill: one summary field
-- per tile"). A member longer than zset-max-listpack-value converts the index at once, so
-- an add that leaves it above the listpack limit anyway converts first and removes that
-- member at once (memory as before; a left-over one, after an error, is not base 36 and
-- has score 0: the next sweep removes it). Only large adds (backfill writes) look.
local ZSET_LISTPACK_ENTRIES = 128
local SKIPLIST_PAD = 1024
-- ZADD GT of z = { score1, member1, score2, member2, ... } (ZADD's own argument order, so
-- each slice goes to redis.call as it is); returns how many members are new.
local function addTileList(index, ttl, z)
  local nTiles, added = #z / 2, 0
  local convert = nTiles > ZSET_LISTPACK_ENTRIES or (nTiles >= 32 and redis.call('ZCARD', index) + nTiles > ZSET_LISTPACK_ENTRIES)
  local member = convert and ('_skiplist' .. string.rep('_', SKIPLIST_PAD))
  if member then redis.call('ZADD', index, 0, member) end
  for i = 1, #z, 1000 do added = added + redis.call('ZADD', index, 'GT', unpack(z, i, math.min(i + 999, #z))) end
  if member then redis.call('ZREM', index, member) end
  if added > 0 then redis.call('PEXPIRE', index, ttl) end
  return added
end

-- addTileList of nTiles (tileIndex36, expireAt) pairs from ARGV[first] (apply-entity.lua's
-- layout). Returns how many members are new and the smallest expiry given (math.huge: none).
local function addTiles(index, ttl, first, nTiles)
  local z, lowest = {}, math.huge
  for i = first, first + 2 * nTiles - 2, 2 do
    local score = tonumber(ARGV[i + 1])
    if score < lowest then lowest = score end
    z[#z + 1] = ARGV[i + 1]; z[#z + 1] = ARGV[i]
  end
  return addTileList(index, ttl, z), lowest
end

-- Eviction by event time: the fields of tiles whose expiry <= the hash's clock are deleted.
-- Amortised: a sweep (HKEYS) runs only once dead tiles are at least an eighth of the
-- index (or 64), i.e. once the clock reaches the t-th smallest expiry below; dead tiles
-- left until then are outside every window readers can still ask about (readers treat
-- them as possibly gone). Returns that clock (NEVER for an empty index).
local function nextSweep(index)
  local live = redis.call('ZCARD', index)
  if live == 0 then return NEVER end
  local t = math.max(1, math.min(64, math.ceil(live / 8)))
  return tonumber(redis.call('ZRANGE', index, t - 1, t - 1, 'WITHSCORES')[2])
end

-- Deletes the dead tiles' fields and index members; returns nextSweep afterwards.
local function sweep(key, index, clock)
  local deadTile = {}
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', clock)) do deadTile[t] = true end
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local colon = string.find(f, ':', 1, true)
    if colon and deadTile[string.sub(f, 1, colon - 1)] then
      del[#del + 1] = f
      if #del >= 500 then redis.call('HDEL', key, unpack(del)); del = {} end
    end
  end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', clock)
  return nextSweep(index)
end

-- Ends one tile hash's write: stores `hset` (field, value, ...; _hi and _v among them),
-- evicts, refreshes retention. stored: the HASH_FIELDS as read before this call wrote;
-- evc: the _evc the hash holds after `hset`; added, lowest: addTiles' result.
local function finishHash(key, index, ttl, hset, clock, evc, stored, added, lowest)
  local was = tonumber(stored['_edue'] or '')
  local due = was
  if due and lowest < due then due = lowest end
  local swept = false
  if not due or due <= clock then
    due = nextSweep(index)
    swept = due <= clock
  end
  -- compared as numbers: _edue is always written by fmt, whose %.17g round-trips exactly
  if not swept and due ~= was then hset[#hset + 1] = '_edue'; hset[#hset + 1] = fmt(due) end
  local refresh = retentionDue(stored['_ttl'])
  if refresh then hset[#hset + 1] = '_ttl'; hset[#hset + 1] = fmt(wallNow()) end
  for i = 1, #hset, 4000 do redis.call('HSET', key, unpack(hset, i, math.min(i + 3999, #hset))) end
  if swept then
    local h = { '_edue', fmt(sweep(key, index, clock)) }
    -- Readers: tiles with expiry <= _evc may be gone; every later tile is complete.
    if clock > evc then h[3] = '_evc'; h[4] = tostring(clock) end
    redis.call('HSET', key, unpack(h))
  end
  if refresh then
    redis.call('PEXPIRE', key, ttl)
    if added == 0 then redis.call('PEXPIRE', index, ttl) end -- else addTiles did
  end
end
