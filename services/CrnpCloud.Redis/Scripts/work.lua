-- Which of the given clients (the partition's members of the busy set) have a non-empty queue, with
-- its length; an empty queue found here leaves the busy set, which only ever over-approximates.
-- Members of a per-partition busy set left by an older version (<prefix>:busy:<partition>) are
-- moved into the busy set and looked at too.
-- KEYS: busy, busy:<partition>. ARGV[1] prefix, ARGV[2] partition, ARGV[3..] client ids.
-- Derived: the queue q:<id> of each client. Returns { id, length, id, length, ... }.
local prefix = ARGV[1]
declare(prefix, { 'busy', 'busy:' })
local busy = key('busy')
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
local older = member('busy:', prefix .. ':busy:' .. ARGV[2])
local moved = redis.call('SMEMBERS', older)
for _, id in ipairs(moved) do
  redis.call('SADD', busy, id)
  ids[#ids + 1] = id
end
if #moved > 0 then redis.call('DEL', older) end
local out, seen = {}, {}
for _, id in ipairs(ids) do
  if not seen[id] then
    seen[id] = true
    local length = redis.call('XLEN', derived(prefix, 'q:' .. id))
    if length > 0 then
      out[#out + 1] = id
      out[#out + 1] = length
    else
      redis.call('SREM', busy, id)
    end
  end
end
return out
