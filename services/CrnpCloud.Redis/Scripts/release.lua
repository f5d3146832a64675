-- Gives back leases the worker holds. KEYS: workers, leases. ARGV[1] prefix, ARGV[2] worker id,
-- ARGV[3] 1 if the worker is leaving (shutting down: out of the live set at once), ARGV[4..] partitions.
declare(ARGV[1], { 'workers', 'leases' })
if ARGV[3] == '1' then redis.call('ZREM', key('workers'), ARGV[2]) end
for i = 4, #ARGV do
  local l = parse_lease(redis.call('HGET', key('leases'), ARGV[i]))
  if l and l.owner == ARGV[2] then redis.call('HDEL', key('leases'), ARGV[i]) end
end
return 0
