--[[
  commit-user: store one user's acceptance state for the offline sink, AFTER the ClickHouse
  insert of the batch that produced it succeeded, with a compare-and-set on the user's
  offset marker for the source partition, so a sink instance that lost the partition (or
  a zombie) can never overwrite the state of the instance that owns it now.

  The state is an append log (state-log.ts): most commits add one segment, the ids
  accepted since the previous commit, so the write is proportional to what changed; now
  and then the caller replaces the log by a snapshot (compaction). An append also checks
  the number of segments, so it only ever extends the log its caller loaded or wrote.
  Three Redis calls per append, as many as the whole-state write had.

  KEYS[1]  the user's offline meta hash (<prefix>:o1:{u:<id>}:m): field o:<partition> =
           offset of the last record of this user judged into the stored state; n = the
           number of segments; s:0 .. s:<n-1> = the segments; acc = the whole state as
           written before the log existed (read as a one-segment log when n is absent; the
           caller's first write is then a snapshot, which deletes it)
  ARGV[1]  source partition
  ARGV[2]  expected marker: the o:<partition> value the caller loaded ('' = absent)
  ARGV[3]  new marker (decimal offset)
  ARGV[4]  'a': append segment ARGV[5] ('' = none) to a log of exactly ARGV[6] segments;
           's': replace the log by the one segment ARGV[5]
  ARGV[5]  segment
  ARGV[6]  expected number of segments (append only)
  ARGV[7]  PEXPIRE of the hash (ms), refreshed on every write

  Returns  1 applied
           0 already applied: the marker is the new one and the log ends with exactly this
             write (a retried flush whose earlier attempt reached Redis)
          -1 conflict: the marker is not the expected one (another consumer moved it), or
             the log does not have the segments the append expects
]]
local meta = KEYS[1]
local field = 'o:' .. ARGV[1]
local append = ARGV[4] == 'a'
local segment = ARGV[5]
local expected = tonumber(ARGV[6])
local got = redis.call('HMGET', meta, field, 'n')
local current = got[1]
local n = tonumber(got[2] or '0')

if current == ARGV[3] then
  local want = 1
  if append then
    want = expected
    if segment ~= '' then want = expected + 1 end
  end
  if n == want and (segment == '' or redis.call('HGET', meta, 's:' .. (want - 1)) == segment) then return 0 end
  return -1
end
if (current or '') ~= ARGV[2] then return -1 end

if append then
  if n ~= expected then return -1 end
  if segment == '' then
    redis.call('HSET', meta, field, ARGV[3])
  else
    redis.call('HSET', meta, field, ARGV[3], 's:' .. n, segment, 'n', n + 1)
  end
else
  -- compaction: drop the old segments, in chunks (unpack is bounded by the Lua stack)
  for first = 0, n - 1, 1000 do
    local fields = {}
    for k = first, math.min(first + 999, n - 1) do fields[#fields + 1] = 's:' .. k end
    redis.call('HDEL', meta, unpack(fields))
  end
  redis.call('HDEL', meta, 'acc')
  redis.call('HSET', meta, field, ARGV[3], 's:0', segment, 'n', 1)
end
redis.call('PEXPIRE', meta, ARGV[7])
return 1
