-- Gives back leases the worker holds. ARGV[1] prefix, ARGV[2] worker id, ARGV[3..] partitions.
for i = 3, #ARGV do
  local key = ARGV[1] .. ':lease:' .. ARGV[i]
  if redis.call('HGET', key, 'owner') == ARGV[2] then redis.call('DEL', key) end
end
return 0
