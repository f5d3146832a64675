-- Marks every partition in sync with the current store identity, in one step, only if no partition
-- has a mark yet. KEYS: synced. ARGV[1] prefix, ARGV[2] identity, ARGV[3] partition count.
-- Returns 1 if it did.
declare(ARGV[1], { 'synced' })
local synced = key('synced')
if redis.call('EXISTS', synced) == 1 then return 0 end
local fields = {}
for p = 0, tonumber(ARGV[3]) - 1 do
  fields[#fields + 1] = p
  fields[#fields + 1] = ARGV[2]
end
redis.call('HSET', synced, unpack(fields))
return 1
