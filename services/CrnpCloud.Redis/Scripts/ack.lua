-- Delivery workers' acks, each fenced by its own lease: each removes one delivered entry from a
-- client's queue and releases its payload reference, and records the delivery in the client's hash
-- (when, and the sequence of the event delivered); an emptied queue leaves the busy set. One call
-- takes the acks of many clients (a worker commits its clients' acks together), answered in order
-- as if each were alone.
-- KEYS: refs, busy, leases, then for each ack q:<client>, client:<client>.
-- ARGV[1] key prefix, then for each ack: entry id, client id, partition, fencing token.
-- Derived: the event payload ev:<seq> (its sequence is read from the entry).
-- Returns, for each ack in order, { 1 done | 0 already gone | -1 lease lost, entries left in the
-- queue (-1 when the lease was lost) }, flattened: a worker whose ack leaves the queue empty does not
-- read it again.
local prefix = ARGV[1]
local n = declare_each(prefix, { 'refs', 'busy', 'leases' }, { 'q:', 'client:' })
if #ARGV ~= 1 + 4 * n then error(#ARGV .. ' arguments for ' .. n .. ' acks') end
local out, held, now = {}, {}, nil
for i = 1, n do
  local a = 1 + (i - 1) * 4
  local entry_id, id, p, token = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local queue = each_member(i, 1, prefix .. ':q:' .. id)
  -- A lease cannot change while the script runs: checked once per lease.
  local lease = p .. '/' .. token
  if held[lease] == nil then held[lease] = holds(prefix, p, token) end
  if not held[lease] then
    out[#out + 1] = -1
    out[#out + 1] = -1
  else
    local found = redis.call('XRANGE', queue, entry_id, entry_id)
    if #found == 0 then
      out[#out + 1] = 0
      out[#out + 1] = redis.call('XLEN', queue)
    else
      redis.call('XDEL', queue, entry_id)
      local seq = entry_field(found[1], 's')
      ref_drop(prefix, seq)
      local client = each_member(i, 2, prefix .. ':client:' .. id)
      if redis.call('HEXISTS', client, 'types') == 1 then
        now = now or now_ms()
        redis.call('HSET', client, 'delivered_at', now, 'failures', 0, 'delivered_seq', seq)
      end
      local left = redis.call('XLEN', queue)
      if left == 0 then
        redis.call('SREM', key('busy'), id)
      end
      out[#out + 1] = 1
      out[#out + 1] = left
    end
  end
end
return out
