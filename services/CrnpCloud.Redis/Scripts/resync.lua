-- Queues the current state of every type of a client (resync), if the caller still holds the lease.
-- KEYS: leases, client:<client>, latest, q:<client>, refs, busy. ARGV[1] prefix, ARGV[2] client id,
-- ARGV[3] partition, ARGV[4] fencing token. Derived: payloads ev:<seq>.
-- Returns { 1 done | 0 no such client | -1 lease lost, entries queued }.
local prefix, id = ARGV[1], ARGV[2]
declare(prefix, { 'leases', 'client:', 'latest', 'q:', 'refs', 'busy' })
if not holds(prefix, ARGV[3], ARGV[4]) then return { -1, 0 } end
local raw = redis.call('HGET', member('client:', prefix .. ':client:' .. id), 'types')
if not raw then return { 0, 0 } end
return { 1, queue_state(prefix, id, cjson.decode(raw), 'resync') }
