--[[
  commit-user: store one user's acceptance state for the offline sink, AFTER the ClickHouse
  insert of the batch that produced it succeeded, with a compare-and-set on the user's
  offset marker for the source partition, so a sink instance that lost the partition (or
  a zombie) can never overwrite the state of the instance that owns it now.

  KEYS[1]  the user's offline meta hash (<prefix>:o1:{u:<id>}:m):
           field o:<partition> = offset of the last record of this user judged into the
           stored state, field acc = serialized acceptance state (core/acceptance.ts)
  ARGV[1]  source partition
  ARGV[2]  expected marker: the o:<partition> value the caller loaded ('' = absent)
  ARGV[3]  new marker (decimal offset)
  ARGV[4]  new acceptance state
  ARGV[5]  PEXPIRE of the hash (ms), refreshed on every write

  Returns  1 applied
           0 already applied: the stored marker and state are exactly these (a retried
             flush whose earlier attempt reached Redis)
          -1 conflict: the marker is not the expected one (another consumer moved it)
]]
local meta = KEYS[1]
local field = 'o:' .. ARGV[1]
local current = redis.call('HGET', meta, field)

if current then
  if current == ARGV[3] and redis.call('HGET', meta, 'acc') == ARGV[4] then return 0 end
  if current ~= ARGV[2] then return -1 end
elseif ARGV[2] ~= '' then
  return -1
end

redis.call('HSET', meta, field, ARGV[3], 'acc', ARGV[4])
redis.call('PEXPIRE', meta, ARGV[5])
return 1
