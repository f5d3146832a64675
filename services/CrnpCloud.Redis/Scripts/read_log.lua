-- A page of the global event log. KEYS: log. ARGV[1] key prefix, ARGV[2] sequence to read after
-- ('' = the last ARGV[3]), ARGV[3] how many.
-- Returns { oldest sequence, newest sequence, stored event JSON... } oldest first.
declare(ARGV[1], { 'log' })
local log, max = key('log'), tonumber(ARGV[3])
local oldest, newest = log_bounds(log)
local out = { oldest, newest }
if max == 0 then
  return out
elseif ARGV[2] == '' then
  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', max)
  for i = #last, 1, -1 do out[#out + 1] = entry_field(last[i], 'd') end
else
  for _, d in ipairs(log_after(log, tonumber(ARGV[2]), max)) do out[#out + 1] = d end
end
return out
