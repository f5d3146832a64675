-- Client ids of a partition whose queue is not empty. ARGV[1] prefix, ARGV[2] partition.
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. ':part:' .. ARGV[2])) do
  if redis.call('XLEN', ARGV[1] .. ':q:' .. id) > 0 then out[#out + 1] = id end
end
return out
