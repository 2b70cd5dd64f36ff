--[[
  apply-entity: atomically apply one batch's tile writes of ONE entity (all its hashes share
  a hash tag, so this is one slot) together with the consumed-offset marker, so a replay of
  the same Kafka records after a crash changes nothing.

  KEYS[1]      meta hash of the entity: field o:<partition> = last applied offset,
               field acc = acceptance state (users), _ttl as in include/tile-hash.lua
  KEYS[2..]    pairs: tile hash of the entity (one per tile size), then its tile index
               (ZSET: member = tile index in base 36, score = the tile's event-time expiry)

  ARGV[1]      source partition; '' = a backfill write: no marker is checked or written
  ARGV[2]      expected marker: the o:<partition> value the caller read ('' = absent)
  ARGV[3]      new marker: the largest offset included in this write
  ARGV[4]      acceptance state to store in field acc ('' = leave as is)
  ARGV[5]      retention (ms) of the meta hash: PEXPIRE (at most every REFRESH_MS for a
               marker write, see include/tile-hash.lua; on every backfill write)
  ARGV[6]      version token, never used before (store/tile-store.ts: a random run id and
               a counter): stored in field _v of every tile hash this call writes
  then, for each (tile hash, index) pair in KEYS order:
    ttlMs      PEXPIRE of the hash and its index (wall-clock retention; when refreshed:
               include/tile-hash.lua)
    nTiles     number of (tileIndex36, expireAt) pairs that follow
    pairs      tile index (base 36, the field prefix) and its event-time expiry (ms)
    nClear     always 0 (backfill rewrites go through replace-entity.lua); kept so the
               argument layout did not change
    nArgs      number of op arguments that follow
    ops        op, field, then: incr by | max value | min value | setnx value | tsum value |
               topn n json | set value (a field known to be absent; core/ops.ts); or 'mset', count,
               then that many fields and values to set, joined by '\n'

  Returns: 1 applied, 0 already applied (marker >= new marker), -1 conflict (the marker
  moved since the caller read it: another consumer owns the partition now).

  Tile eviction by event time: the index keeps each tile's expiry, field _hi the entity's
  largest event time in this hash; tiles whose expiry <= _hi are deleted (see sweep in
  include/tile-hash.lua, also for _edue and _ttl), and _evc records the largest clock an
  eviction used: tiles expiring after it are all there.

  Increments are added here, not with HINCRBY, when the stored value and the increment are
  both canonical decimal integers of at most 15 digits: their sum is below 2^53, exact as
  a Lua number, and printed as HINCRBY would. Anything else goes to HINCRBY as before
  (int64 sums, and its errors for values that are not integers).

  Versions: every tile hash in KEYS gets _v = ARGV[6] in this call, whatever the ops (ops,
  clears, evictions and _evc all change a hash only here). read-tiles.lua compares _v with
  the API's cached copy, so _v must change whenever the hash does and never come back.
]]
local meta = KEYS[1]
local backfill = ARGV[1] == ''
local markerField = 'o:' .. ARGV[1]
local metaStamp = false -- the meta hash's _ttl (include/tile-hash.lua)
if not backfill then
  local m = redis.call('HMGET', meta, markerField, '_ttl')
  local current = m[1]
  metaStamp = m[2]
  local expected = ARGV[2]
  local newMarker = tonumber(ARGV[3])
  if current then
    if tonumber(current) >= newMarker then return 0 end
    if current ~= expected then return -1 end
  elseif expected ~= '' then
    return -1
  end
end

-- Byte-wise string order (Lua's < follows the C locale collation).
local function bytecmp(a, b)
  if a == b then return 0 end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y and -1 or 1 end
  end
  return #a < #b and -1 or 1
end

-- Most recent first: time desc (numeric), then event_id, user_id, value desc (byte-wise).
local function recentFirst(a, b)
  local ta, tb = tonumber(a[1]), tonumber(b[1])
  if ta ~= tb then return ta > tb end
  for i = 2, 4 do
    local c = bytecmp(a[i], b[i])
    if c ~= 0 then return c > 0 end
  end
  return false
end

-- Returns the new stored value of a last-N field given its current value (or false).
local function topn(stored, n, json)
  local items = cjson.decode(json)
  if stored then
    for _, it in ipairs(cjson.decode(stored)) do items[#items + 1] = it end
  end
  table.sort(items, recentFirst)
  local out = {}
  for _, it in ipairs(items) do
    if #out >= n then break end
    -- equal entries are kept: they are different accepted events (core/ordering.ts)
    out[#out + 1] = it
  end
  return cjson.encode(out)
end

--#include tile-hash.lua

-- A canonical decimal integer of at most 15 digits: |value| < 10^15, so sums of two are
-- exact as Lua numbers (doubles) and format as HINCRBY would print them.
local function small(v)
  local n = #v
  if n > 16 or (n == 16 and string.byte(v, 1) ~= 45) then return false end
  return v == '0' or string.find(v, '^%-?[1-9]%d*$') ~= nil
end

-- An integer as HINCRBY prints it: '%d' (a C long) below 2^53, where every double is
-- exact and it prints as '%.0f' does at half the cost; '%.0f' beyond.
local function int(x)
  if x < 9007199254740992 and x > -9007199254740992 then return string.format('%d', x) end
  return string.format('%.0f', x)
end

-- tsum values parsed in this call: value -> { hi, lo, n or false }
local tsumParsed = {}

local version = ARGV[6]
local a = 7
for k = 2, #KEYS, 2 do
  local key, index = KEYS[k], KEYS[k + 1]
  local ttl = ARGV[a]
  local nTiles = tonumber(ARGV[a + 1])
  local added, lowest = addTiles(index, ttl, a + 2, nTiles)
  a = a + 2 + 2 * nTiles
  a = a + 1 -- nClear, always 0
  local nArgs = tonumber(ARGV[a])
  a = a + 1
  local stop = a + nArgs
  -- Pass 1: the fields whose current value the ops need, read with ONE HMGET, after the
  -- store fields of include/tile-hash.lua.
  local readFields = { HASH_FIELDS[1], HASH_FIELDS[2], HASH_FIELDS[3], HASH_FIELDS[4] }
  local j = a
  while j < stop do
    local op = ARGV[j]
    if op ~= 'set' and op ~= 'mset' then readFields[#readFields + 1] = ARGV[j + 1] end
    j = j + (op == 'topn' and 4 or 3)
  end
  local current = {}
  for i = 1, #readFields, 1000 do
    local last = math.min(i + 999, #readFields)
    local values = redis.call('HMGET', key, unpack(readFields, i, last))
    for k = i, last do current[readFields[k]] = values[k - i + 1] end
  end
  local stored = { _hi = current._hi, _evc = current._evc, _edue = current._edue, _ttl = current._ttl }
  local clock = tonumber(current['_hi'] or '-1')
  -- Pass 2: compute; the results are written with ONE HSET at the end, except increments
  -- that are not small (HINCRBY: exact int64, in op order).
  local changed = {}
  local hincr = {}
  local hset = {}
  while a < stop do
    local op, field = ARGV[a], ARGV[a + 1]
    if op == 'incr' then
      local by, cur = ARGV[a + 2], current[field]
      if not hincr[field] and small(by) and (not cur or small(cur)) then
        current[field] = int((cur and tonumber(cur) or 0) + tonumber(by)); changed[field] = true
      else
        -- what this call added so far goes first, then every later increment of the field
        if changed[field] then redis.call('HSET', key, field, current[field]); changed[field] = nil end
        redis.call('HINCRBY', key, field, by); hincr[field] = true
      end
      a = a + 3
    elseif op == 'max' or op == 'min' then
      local v = ARGV[a + 2]
      local cur = current[field]
      if not cur or (op == 'max' and tonumber(v) > tonumber(cur)) or (op == 'min' and tonumber(v) < tonumber(cur)) then
        current[field] = v; changed[field] = true
      end
      if op == 'max' and string.sub(field, -3) == ':hi' and tonumber(v) > clock then clock = tonumber(v) end
      a = a + 3
    elseif op == 'set' then
      current[field] = ARGV[a + 2]; changed[field] = true
      if string.sub(field, -3) == ':hi' and tonumber(ARGV[a + 2]) > clock then clock = tonumber(ARGV[a + 2]) end
      a = a + 3
    elseif op == 'mset' then
      local packed, pos = ARGV[a + 2], 1
      for _ = 1, tonumber(ARGV[a + 1]) do
        local e1 = string.find(packed, '\n', pos, true)
        local e2 = string.find(packed, '\n', e1 + 1, true) or (#packed + 1)
        local f, v = string.sub(packed, pos, e1 - 1), string.sub(packed, e1 + 1, e2 - 1)
        -- straight into the final HSET: no other op of this call touches these fields
        hset[#hset + 1] = f; hset[#hset + 1] = v
        -- ':hi' fields move the clock (byte tests: no substring per field)
        if string.byte(f, -1) == 105 and string.byte(f, -2) == 104 and string.byte(f, -3) == 58 and tonumber(v) > clock then clock = tonumber(v) end
        pos = e2 + 1
      end
      a = a + 3
    elseif op == 'tsum' then
      -- the tile summary (core/ops.ts tsum): `<hi>,<hi - lo>[,<n>]` merged into the stored
      -- `<hi>,<hi - lo>[,<n>[,<s>]]`: hi max, lo min, n summed, a stored s kept. One event
      -- gives every series of a tile the same value: it is parsed once per call.
      local v, cur = ARGV[a + 2], current[field]
      local p = tsumParsed[v]
      if not p then
        local h, d, n = string.match(v, '^([^,]*),([^,]*),?(.*)$')
        local hi = tonumber(h)
        p = { hi, hi - tonumber(d), n ~= '' and tonumber(n) or false }
        tsumParsed[v] = p
      end
      local hi, lo, n = p[1], p[2], p[3]
      if hi > clock then clock = hi end
      if cur then
        local ch, cd, rest = string.match(cur, '^([^,]*),([^,]*)(.*)$')
        local chi = tonumber(ch)
        local clo = chi - tonumber(cd)
        local tail = ''
        if rest ~= '' then
          local cn
          cn, tail = string.match(rest, '^,([^,]*)(.*)$')
          if cn ~= '' then n = (n or 0) + tonumber(cn) end
        end
        if chi > hi then hi = chi end
        if clo < lo then lo = clo end
        -- a stored s (tail) keeps n's place, empty or not; else n only if there is one
        local suffix = tail ~= '' and (',' .. (n and int(n) or '') .. tail) or (n and (',' .. int(n)) or '')
        current[field] = int(hi) .. ',' .. int(hi - lo) .. suffix
      else
        current[field] = v
      end
      changed[field] = true
      a = a + 3
    elseif op == 'setnx' then
      if not current[field] then current[field] = ARGV[a + 2]; changed[field] = true end
      a = a + 3
    elseif op == 'topn' then
      current[field] = topn(current[field], tonumber(ARGV[a + 2]), ARGV[a + 3]); changed[field] = true
      a = a + 4
    else
      return redis.error_reply('ERR apply-entity: unknown op ' .. tostring(op))
    end
  end
  hset[#hset + 1] = '_hi'; hset[#hset + 1] = tostring(clock)
  hset[#hset + 1] = '_v'; hset[#hset + 1] = version
  for f in pairs(changed) do hset[#hset + 1] = f; hset[#hset + 1] = current[f] end
  finishHash(key, index, ttl, hset, clock, tonumber(current['_evc'] or '-1'), stored, added, lowest)
end

-- Marker, acceptance state and the meta hash's _ttl in one HSET.
local h = {}
if not backfill then h[1] = markerField; h[2] = ARGV[3] end
if ARGV[4] ~= '' then h[#h + 1] = 'acc'; h[#h + 1] = ARGV[4] end
local refresh = backfill or retentionDue(metaStamp)
if refresh and not backfill then h[#h + 1] = '_ttl'; h[#h + 1] = fmt(wallNow()) end
if #h > 0 then redis.call('HSET', meta, unpack(h)) end
if refresh then redis.call('PEXPIRE', meta, ARGV[5]) end
return 1
