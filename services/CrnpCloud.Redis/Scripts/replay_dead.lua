-- Queues a registered client's dead letters (within the age limit) again, in order, behind what it
-- has queued, wakes it and clears them.
-- KEYS: refs, busy, client:<client>, q:<client>, dl:<client>. ARGV[1] key prefix, ARGV[2] client id,
-- ARGV[3] age limit ms. Returns the number queued, or -1 when the client is not registered.
local prefix, id = ARGV[1], ARGV[2]
declare(prefix, { 'refs', 'busy', 'client:', 'q:', 'dl:' })
if redis.call('HEXISTS', member('client:', prefix .. ':client:' .. id), 'types') == 0 then return -1 end
local dl = member('dl:', prefix .. ':dl:' .. id)
local queued = 0
for _, entry in ipairs(redis.call('XRANGE', dl, string.format('%d', now_ms() - tonumber(ARGV[3])), '+')) do
  queue_replay(prefix, id, entry_field(entry, 's'), entry_field(entry, 'd'))
  queued = queued + 1
end
redis.call('DEL', dl)
if queued > 0 then wake(prefix, { id }) end
return queued
