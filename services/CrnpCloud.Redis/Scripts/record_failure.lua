-- Counts a failed delivery attempt in a registered client's hash. KEYS: client:<client>.
-- ARGV[1] prefix, ARGV[2] client id, ARGV[3] reason. Returns the consecutive failures now, or 0 for
-- an unknown client (nothing is created for it).
declare(ARGV[1], { 'client:' })
local client = member('client:', ARGV[1] .. ':client:' .. ARGV[2])
if redis.call('HEXISTS', client, 'types') == 0 then return 0 end
local failures = redis.call('HINCRBY', client, 'failures', 1)
redis.call('HSET', client, 'failure', ARGV[3], 'failed_at', now_ms())
return failures
