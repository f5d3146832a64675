-- Removes one delivered entry from a client's queue and releases its payload reference.
-- KEYS[1] client queue; ARGV[1] entry id, ARGV[2] key prefix, and, from a delivery worker,
-- ARGV[3] partition and ARGV[4] fencing token. Returns 1 done, 0 already gone, -1 lease lost.
if ARGV[3] and not holds(ARGV[2], ARGV[3], ARGV[4]) then return -1 end
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
ref_drop(ARGV[2], entry_field(found[1], 's'))
return 1
