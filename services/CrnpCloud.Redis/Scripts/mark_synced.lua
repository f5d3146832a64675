-- Records the store identity a partition's clients were brought in sync with, if the caller holds
-- the lease. ARGV[1] prefix, ARGV[2] partition, ARGV[3] fencing token, ARGV[4] identity.
if not holds(ARGV[1], ARGV[2], ARGV[3]) then return -1 end
redis.call('HSET', ARGV[1] .. ':synced', ARGV[2], ARGV[4])
return 1
