-- The first entries of a client's queue with their payloads.
-- KEYS[1] client queue q:<client>; ARGV[1] how many, ARGV[2] key prefix.
-- Derived: the payloads ev:<seq> the entries point to. Returns { id, kind, payload, ... }.
declare(ARGV[2], { 'q:' })
local out = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry_field(entry, 'k')
  out[#out + 1] = redis.call('GET', derived(ARGV[2], 'ev:' .. entry_field(entry, 's'))) or ''
end
return out
