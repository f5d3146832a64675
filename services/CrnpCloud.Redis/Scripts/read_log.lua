-- A page of the global event log. KEYS[1] global log stream.
-- ARGV[1] sequence to read after ('' = the last ARGV[2]), ARGV[2] how many.
-- Returns { oldest sequence, newest sequence, stored event JSON... } oldest first.
local max = tonumber(ARGV[2])
local oldest, newest = log_bounds(KEYS[1])
local out = { oldest, newest }
if max == 0 then
  return out
elseif ARGV[1] == '' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', max)
  for i = #last, 1, -1 do out[#out + 1] = entry_field(last[i], 'd') end
else
  for _, d in ipairs(log_after(KEYS[1], tonumber(ARGV[1]), max)) do out[#out + 1] = d end
end
return out
