-- Heartbeat + lease renewal + taking free partitions up to the fair share, by the Redis clock.
-- KEYS: workers, leases, fence. ARGV[1] prefix, ARGV[2] worker id, ARGV[3] ttl ms, ARGV[4] partition count.
-- Returns { fair share, partition, token, partition, token, ... } for every lease the worker now holds.
local prefix, worker, ttl, parts = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
declare(prefix, { 'workers', 'leases', 'fence' })
local now = now_ms()
redis.call('ZADD', key('workers'), now + ttl, worker)
redis.call('ZREMRANGEBYSCORE', key('workers'), '-inf', now)
local share = math.ceil(parts / redis.call('ZCARD', key('workers')))
local current = {}
local all = redis.call('HGETALL', key('leases'))
for i = 1, #all, 2 do current[tonumber(all[i])] = parse_lease(all[i + 1]) end

local held, writes, count = { share }, {}, 0
local function hold(p, token)
  held[#held + 1] = p
  held[#held + 1] = token
  writes[#writes + 1] = p
  writes[#writes + 1] = worker .. ' ' .. token .. ' ' .. (now + ttl)
  count = count + 1
end
for p = 0, parts - 1 do
  local l = current[p]
  if l and l.owner == worker and l.exp > now then hold(p, l.token) end
end
for p = 0, parts - 1 do
  if count >= share then break end
  local l = current[p]
  if not l or l.exp <= now then hold(p, redis.call('INCR', key('fence'))) end
end
if #writes > 0 then redis.call('HSET', key('leases'), unpack(writes)) end
return held
