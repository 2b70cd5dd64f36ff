--[[
  commit-user: store one user's acceptance state for the offline sink, AFTER the ClickHouse
  insert of the batch that produced it succeeded, with a compare-and-set on the user's
  offset marker for the source partition, so a sink instance that lost the partition (or
  a zombie) can never overwrite the state of the instance that owns it now.

  The state is an append log (state-log.ts): most commits append the ids accepted since the
  previous one, so the write is proportional to what changed; now and then the caller
  replaces the log by a snapshot (compaction). An append also checks the log's length, so
  it only ever extends the log its caller loaded or wrote.

  KEYS[1]  the user's offline meta hash (<prefix>:o1:{u:<id>}:m): field o:<partition> =
           offset of the last record of this user judged into the stored state; field
           acc = the whole state as written before the log existed (read as a one-segment
           log; the caller's first write is then a snapshot, which deletes it)
  KEYS[2]  the user's log (<prefix>:o1:{u:<id>}:a), a string of segments
  ARGV[1]  source partition
  ARGV[2]  expected marker: the o:<partition> value the caller loaded ('' = absent)
  ARGV[3]  new marker (decimal offset)
  ARGV[4]  'a' append ARGV[5] to a log of exactly ARGV[6] bytes, or 's' replace it by ARGV[5]
  ARGV[5]  segment(s)
  ARGV[6]  expected log length in bytes (append only)
  ARGV[7]  PEXPIRE of both keys (ms), refreshed on every write

  Returns  1 applied
           0 already applied: the marker is the new one and the log ends with exactly this
             write (a retried flush whose earlier attempt reached Redis)
          -1 conflict: the marker is not the expected one (another consumer moved it), or
             the log is not the length the append expects
]]
local meta = KEYS[1]
local log = KEYS[2]
local field = 'o:' .. ARGV[1]
local append = ARGV[4] == 'a'
local payload = ARGV[5]
local expected = tonumber(ARGV[6])
local current = redis.call('HGET', meta, field)

if current == ARGV[3] then
  if append then
    local len = redis.call('STRLEN', log)
    if len == expected + #payload and (#payload == 0 or redis.call('GETRANGE', log, expected, -1) == payload) then return 0 end
  elseif redis.call('GET', log) == payload then
    return 0
  end
  return -1
end
if (current or '') ~= ARGV[2] then return -1 end

if append then
  if redis.call('STRLEN', log) ~= expected then return -1 end
  if #payload > 0 then redis.call('APPEND', log, payload) end
else
  redis.call('SET', log, payload)
  redis.call('HDEL', meta, 'acc')
end
redis.call('HSET', meta, field, ARGV[3])
redis.call('PEXPIRE', meta, ARGV[7])
redis.call('PEXPIRE', log, ARGV[7])
return 1
