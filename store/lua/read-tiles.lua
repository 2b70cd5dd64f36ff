#!lua flags=no-writes
--[[
  read-tiles: every tile field of entities' tile hashes, packed into one string per hash,
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

  KEYS        the tile hashes of one or more entities, `per` consecutive keys each
  ARGV[1]     per: the number of keys of each entity
  then ONE argument per entity in KEYS order: '-' (no cached copy: read everything), or
  '=' followed by the _v of each of its `per` keys as the caller last read it ('' = the
  key did not exist), joined by '\n' (one argument rather than `per` + 1: the client
  builds and sends, and Redis parses, a third of the arguments)

  Returns one reply per entity. The integer 1 ("unchanged") when versions were given and
  every key is as the caller last read it: its _v equals the given one, or it was and
  still is absent. (A hash with no _v, written before writers set it, never matches: the
  reader does not cache it.) Otherwise, per key: the number of fields and values (0 when
  the key does not exist), then field1 \n value1 \n field2 \n value2 ... (_v among them).
  Field names and values never contain '\n' (tile fields are
  <tile>:<series>:<part>[:<member>] with members from ids, which the event contract keeps
  free of control characters, decimal or JSON values, and _v tokens without newlines);
  the count lets the reader detect a hash that breaks this instead of misreading it.

  One call for many entities: a request's entities cost Redis one script call and the
  client one command (ioredis wrote 101 pipelined commands as 101 socket writes, the
  API's largest cost after its cache). The keys of several entities are in different
  cluster slots, so on a Redis Cluster the reader must group entities by slot (see
  store/reader.ts); each entity's own keys share its hash tag.
]]
local per = tonumber(ARGV[1])
local out = {}
local now = {}
for e = 1, #KEYS / per do
  local first = (e - 1) * per
  local given = ARGV[e + 1]
  local same = false
  if string.byte(given, 1) == 61 then -- '='
    -- The keys' state as the caller encodes it: _v, or '' for an absent key. A hash
    -- without _v gets '\n', which adds a separator no caller's argument has: no match.
    for k = 1, per do
      local key = KEYS[first + k]
      local v = redis.call('HGET', key, '_v')
      if not v then
        if redis.call('EXISTS', key) == 0 then v = '' else v = '\n' end
      end
      now[k] = v
    end
    same = given == '=' .. table.concat(now, '\n', 1, per)
  end
  if same then
    out[e] = 1
  else
    local tiles = {}
    for k = 1, per do
      local h = redis.call('HGETALL', KEYS[first + k])
      tiles[2 * k - 1] = #h
      tiles[2 * k] = table.concat(h, '\n')
    end
    out[e] = tiles
  end
end
return out
