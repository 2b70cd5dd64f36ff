#!lua flags=no-writes
--[[
  read-tiles: every tile field of ONE entity's tile hashes, packed into one string per hash,
  for store/reader.ts. Read-only: the no-writes flag above makes Redis refuse any write
  from it, and lets it run on replicas and while Redis is out of memory.

  Why a script rather than HGETALL: a user's hashes hold hundreds to thousands of small
  fields; as HGETALL replies every field and value is a RESP bulk string the client
  parses and converts one by one, which cost the API more CPU than everything else it
  does per request. Packed, a hash is one bulk string the client splits in one call.

  KEYS[1..n]  the entity's tile hashes (all share the entity's hash tag: one slot)
  ARGV        none

  Returns, per key in KEYS order: the number of fields and values (0 when the key does not
  exist), then field1 \n value1 \n field2 \n value2 ... Field names and values never
  contain '\n' (tile fields are <tile>:<series>:<part>[:<member>] with members from ids,
  which the event contract keeps free of control characters, and decimal or JSON values);
  the count lets the reader detect a hash that breaks this instead of misreading it.
]]
local out = {}
for k = 1, #KEYS do
  local h = redis.call('HGETALL', KEYS[k])
  out[2 * k - 1] = #h
  out[2 * k] = table.concat(h, '\n')
end
return out
