-- The first entries of a client's queue with their payloads.
-- KEYS[1] client queue; ARGV[1] how many, ARGV[2] key prefix. Returns { id, kind, payload, ... }.
local out = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry_field(entry, 'k')
  out[#out + 1] = redis.call('GET', ARGV[2] .. ':ev:' .. entry_field(entry, 's')) or ''
end
return out
