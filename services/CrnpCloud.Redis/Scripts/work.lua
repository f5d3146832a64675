-- Clients of a partition whose queue is not empty, with the queue length, from the partition's
-- busy set (which only ever over-approximates: an empty queue found here is taken out).
-- ARGV[1] prefix, ARGV[2] partition. Returns { id, length, id, length, ... }.
local busy = ARGV[1] .. ':busy:' .. ARGV[2]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', busy)) do
  local length = redis.call('XLEN', ARGV[1] .. ':q:' .. id)
  if length > 0 then
    out[#out + 1] = id
    out[#out + 1] = length
  else
    redis.call('SREM', busy, id)
  end
end
return out
