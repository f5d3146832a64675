-- Shared by the replay and dead-letter scripts (prepended after lib.lua; PROTOCOL.md section 11).

-- The sequence of a stored event, as text, read without decoding it: stored events start with it
-- (publish.lua writes '{"seq":N,...').
local function seq_of(stored)
  return string.match(stored, '^{"seq":(%d+)')
end

-- Oldest and newest sequence the global log holds (0, 0 when empty).
local function log_bounds(log)
  local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)
  if #first == 0 then return 0, 0 end
  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
  return tonumber(seq_of(entry_field(first[1], 'd'))), tonumber(seq_of(entry_field(last[1], 'd')))
end

-- Stored events of the log with a sequence above after, oldest first, at most max (0: all). Walks
-- back from the newest entry in batches, so the cost is what lies after `after`.
local function log_after(log, after, max)
  local found, cursor = {}, '+'
  while true do
    local batch = redis.call('XREVRANGE', log, cursor, '-', 'COUNT', 1000)
    local stop = #batch < 1000
    for _, entry in ipairs(batch) do
      local d = entry_field(entry, 'd')
      if tonumber(seq_of(d)) <= after then
        stop = true
        break
      end
      found[#found + 1] = d
    end
    if stop then break end
    cursor = '(' .. batch[#batch][1]
  end
  local out = {}
  for i = #found, 1, -1 do
    if max > 0 and #out >= max then break end
    out[#out + 1] = found[i]
  end
  return out
end

-- Appends an entry of kind 'replay' to a client's queue, taking a payload reference.
local function queue_replay(prefix, id, seq, stored)
  redis.call('XADD', member('q:', prefix .. ':q:' .. id), '*', 'k', 'replay', 's', seq)
  ref_add(prefix, seq, stored, 1)
end
