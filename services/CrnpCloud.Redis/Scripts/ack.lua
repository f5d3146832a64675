-- Removes one delivered entry from a client's queue and releases its payload reference.
-- KEYS[1] client queue; ARGV[1] entry id, ARGV[2] key prefix. Returns 1 if the entry was there.
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
ref_drop(ARGV[2], entry_field(found[1], 's'))
return 1
