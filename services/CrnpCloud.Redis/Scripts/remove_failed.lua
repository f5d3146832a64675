-- Removes a client whose deliveries kept failing, if the caller still holds its partition's lease,
-- and records why; its undelivered entries become dead letters (PROTOCOL.md section 11).
-- KEYS: leases, clients, busy, removals, refs, client:<client>, q:<client>, part:<client's partition>,
-- dl:<client>. ARGV[1] prefix, ARGV[2] client id, ARGV[3] partition, ARGV[4] fencing token,
-- ARGV[5] reason, ARGV[6] partition count, ARGV[7] and ARGV[8] dead letters kept (count, age ms).
-- Derived: the client's index sets, payloads ev:<seq>. Returns 1 done, 0 already gone, -1 lease lost.
local prefix, id = ARGV[1], ARGV[2]
declare(prefix, { 'leases', 'clients', 'busy', 'removals', 'refs', 'client:', 'q:', 'part:', 'dl:' })
if not holds(prefix, ARGV[3], ARGV[4]) then return -1 end
dead_letter(prefix, id, ARGV[5], tonumber(ARGV[7]), tonumber(ARGV[8]))
if not remove_client(prefix, id, tonumber(ARGV[6])) then return 0 end
redis.call('XADD', key('removals'), 'MAXLEN', '~', 10000, '*', 'id', id, 'reason', ARGV[5], 'at', now_ms())
return 1
