-- Records the store identity a partition's clients were brought in sync with, if the caller holds
-- the lease. KEYS: leases, synced. ARGV[1] prefix, ARGV[2] partition, ARGV[3] fencing token, ARGV[4] identity.
declare(ARGV[1], { 'leases', 'synced' })
if not holds(ARGV[1], ARGV[2], ARGV[3]) then return -1 end
redis.call('HSET', key('synced'), ARGV[2], ARGV[4])
return 1
