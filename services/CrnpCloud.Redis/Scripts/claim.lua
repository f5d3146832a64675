-- Heartbeat + lease renewal + taking free partitions up to the fair share, by the Redis clock.
-- ARGV[1] prefix, ARGV[2] worker id, ARGV[3] ttl ms, ARGV[4] partition count.
-- Returns { fair share, partition, token, partition, token, ... } for every lease the worker now holds.
local prefix, worker, ttl, parts = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
redis.call('ZADD', prefix .. ':workers', now + ttl, worker)
redis.call('ZREMRANGEBYSCORE', prefix .. ':workers', '-inf', now)
local share = math.ceil(parts / redis.call('ZCARD', prefix .. ':workers'))
local held, free, count = { share }, {}, 0
for p = 0, parts - 1 do
  local key = prefix .. ':lease:' .. p
  local l = redis.call('HMGET', key, 'owner', 'token', 'exp')
  if l[1] == worker and tonumber(l[3]) > now then
    redis.call('HSET', key, 'exp', now + ttl)
    held[#held + 1] = p
    held[#held + 1] = tonumber(l[2])
    count = count + 1
  elseif not l[1] or tonumber(l[3]) <= now then
    free[#free + 1] = p
  end
end
for _, p in ipairs(free) do
  if count >= share then break end
  local token = redis.call('INCR', prefix .. ':fence')
  redis.call('HSET', prefix .. ':lease:' .. p, 'owner', worker, 'token', token, 'exp', now + ttl)
  held[#held + 1] = p
  held[#held + 1] = token
  count = count + 1
end
return held
