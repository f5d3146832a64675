-- Counts a failed delivery attempt in a registered client's hash. ARGV[1] prefix, ARGV[2] client id,
-- ARGV[3] reason. Returns the consecutive failures now, or 0 for an unknown client (nothing is created for it).
local key = ARGV[1] .. ':client:' .. ARGV[2]
if redis.call('HEXISTS', key, 'types') == 0 then return 0 end
local failures = redis.call('HINCRBY', key, 'failures', 1)
redis.call('HSET', key, 'failure', ARGV[3], 'failed_at', now_ms())
return failures
