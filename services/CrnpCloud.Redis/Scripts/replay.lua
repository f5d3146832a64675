-- Queues again, for one client, every event of the global log after a sequence that matches one of
-- its types (the rules of publish.lua), in order, behind what it has queued, and wakes it.
-- KEYS: log, refs, busy, client:<client>, q:<client>. Derived: payloads ev:<seq>.
-- ARGV[1] key prefix, ARGV[2] client id, ARGV[3] sequence to replay after.
-- Returns { queued, oldest sequence in the log }; queued = -1 client not registered, -2 the log no
-- longer holds the event after ARGV[3].
local prefix, id, after = ARGV[1], ARGV[2], tonumber(ARGV[3])
declare(prefix, { 'log', 'refs', 'busy', 'client:', 'q:' })
local raw = redis.call('HGET', member('client:', prefix .. ':client:' .. id), 'types')
if not raw then return { -1, 0 } end
local oldest = log_bounds(key('log'))
if oldest > 0 and after + 1 < oldest then return { -2, oldest } end
local types = decode_all(cjson.decode(raw))
local queued = 0
for _, d in ipairs(log_after(key('log'), after, 0)) do
  if matches_any(types, cjson.decode(d).e) then
    queue_replay(prefix, id, seq_of(d), d)
    queued = queued + 1
  end
end
if queued > 0 then wake(prefix, { id }) end
return { queued, oldest }
