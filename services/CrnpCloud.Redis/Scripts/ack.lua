-- A delivery worker's ack, fenced by its lease: removes one delivered entry from a client's queue and
-- releases its payload reference, and records the delivery in the client's hash (when, and the
-- sequence of the event delivered); an emptied queue leaves the busy set.
-- KEYS: q:<client>, refs, busy, client:<client>, leases. ARGV[1] entry id, ARGV[2] key prefix,
-- ARGV[3] client id, ARGV[4] partition, ARGV[5] fencing token.
-- Derived: the event payload ev:<seq> (its sequence is read from the entry).
-- Returns { 1 done | 0 already gone | -1 lease lost, entries left in the queue (-1 when the lease
-- was lost) }: a worker whose ack leaves the queue empty does not read it again.
local prefix = ARGV[2]
declare(prefix, { 'q:', 'refs', 'busy', 'client:', 'leases' })
local queue = member('q:', prefix .. ':q:' .. ARGV[3])
if not holds(prefix, ARGV[4], ARGV[5]) then return { -1, -1 } end
local found = redis.call('XRANGE', queue, ARGV[1], ARGV[1])
if #found == 0 then return { 0, redis.call('XLEN', queue) } end
redis.call('XDEL', queue, ARGV[1])
local seq = entry_field(found[1], 's')
ref_drop(prefix, seq)
local client = member('client:', prefix .. ':client:' .. ARGV[3])
if redis.call('HEXISTS', client, 'types') == 1 then
  redis.call('HSET', client, 'delivered_at', now_ms(), 'failures', 0, 'delivered_seq', seq)
end
local left = redis.call('XLEN', queue)
if left == 0 then
  redis.call('SREM', key('busy'), ARGV[3])
end
return { 1, left }
