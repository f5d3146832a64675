-- Clients of a partition whose queue is not empty, with the queue length.
-- ARGV[1] prefix, ARGV[2] partition. Returns { id, length, id, length, ... }.
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. ':part:' .. ARGV[2])) do
  local length = redis.call('XLEN', ARGV[1] .. ':q:' .. id)
  if length > 0 then
    out[#out + 1] = id
    out[#out + 1] = length
  end
end
return out
