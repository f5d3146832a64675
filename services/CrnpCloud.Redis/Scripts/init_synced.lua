-- Marks every partition in sync with the current store identity, in one step, only if no partition
-- has a mark yet. ARGV[1] prefix, ARGV[2] identity, ARGV[3] partition count. Returns 1 if it did.
local key = ARGV[1] .. ':synced'
if redis.call('EXISTS', key) == 1 then return 0 end
local fields = {}
for p = 0, tonumber(ARGV[3]) - 1 do
  fields[#fields + 1] = p
  fields[#fields + 1] = ARGV[2]
end
redis.call('HSET', key, unpack(fields))
return 1
