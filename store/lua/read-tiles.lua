#!lua flags=no-writes
--[[
  read-tiles: every tile field of ONE entity's tile hashes, packed into one string per hash,
  for store/reader.ts, unless the caller's cached copy is still current. Read-only: the
  no-writes flag above makes Redis refuse any write from it, and lets it run on replicas
  and while Redis is out of memory.

  Why a script rather than HGETALL: a user's hashes hold hundreds to thousands of small
  fields; as HGETALL replies every field and value is a RESP bulk string the client
  parses and converts one by one, which cost the API more CPU than everything else it
  does per request. Packed, a hash is one bulk string the client splits in one call.

  Why the version check is here: every writer of a tile hash (apply-entity.lua, online and
  backfill, eviction included) sets its field _v to a value never used before, in the same
  atomic call that changes the hash; a hash that expires or is deleted loses _v with its
  tiles. So equal _v means equal contents, and an absent hash has no contents. Checking and
  reading in ONE script call makes every answer a snapshot of one moment.

  KEYS[1..n]  the entity's tile hashes (all share the entity's hash tag: one slot)
  ARGV        none: read everything; or exactly n values, the _v of each key in KEYS order
              as the caller last read it ('' = the key did not exist)

  Returns the integer 1 ("unchanged") when ARGV is given and every key is as the caller
  last read it: its _v equals the given one, or it was and still is absent. (A hash with
  no _v, written before writers set it, never matches: the reader does not cache it.) Otherwise, per key in KEYS order: the number of
  fields and values (0 when the key does not exist), then field1 \n value1 \n field2 \n
  value2 ... (_v among them). Field names and values never contain '\n' (tile fields are
  <tile>:<series>:<part>[:<member>] with members from ids, which the event contract keeps
  free of control characters, decimal or JSON values, and _v tokens without newlines);
  the count lets the reader detect a hash that breaks this instead of misreading it.
]]
if #ARGV == #KEYS and #KEYS > 0 then
  local same = true
  for k = 1, #KEYS do
    local ok
    if ARGV[k] == '' then ok = redis.call('EXISTS', KEYS[k]) == 0
    else ok = redis.call('HGET', KEYS[k], '_v') == ARGV[k] end
    if not ok then same = false; break end
  end
  if same then return 1 end
end
local out = {}
for k = 1, #KEYS do
  local h = redis.call('HGETALL', KEYS[k])
  out[2 * k - 1] = #h
  out[2 * k] = table.concat(h, '\n')
end
return out
