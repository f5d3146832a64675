-- One registration change, atomically, with the first events it queues (PROTOCOL.md sections 2 and 4).
-- KEYS[1] clients set, KEYS[2] client hash, KEYS[3] latest hash, KEYS[4] client queue, KEYS[5] refs,
-- KEYS[6] busy set, KEYS[7] the client's partition set part:<n>
-- ARGV[1] REG_TYPE, ARGV[2] client id, ARGV[3] JSON array of type strings, ARGV[4] max clients,
-- ARGV[5] max types per client, ARGV[6] origin, ARGV[7] now (unix ms), ARGV[8] key prefix,
-- ARGV[9] callback ip, ARGV[10] callback port, ARGV[11] partition count
-- Derived: the subscription index sets of the types (subs:..., subsx:...), event payloads ev:<seq>.
-- Returns {status, message, first events queued}.
local regtype, id, prefix = ARGV[1], ARGV[2], ARGV[8]
declare(prefix, { 'clients', 'client:', 'latest', 'q:', 'refs', 'busy', 'part:' })
member('client:', prefix .. ':client:' .. id)
member('q:', prefix .. ':q:' .. id)
local partitions = tonumber(ARGV[11])
local max_clients, max_types = tonumber(ARGV[4]), tonumber(ARGV[5])
local requested = cjson.decode(ARGV[3])
local exists = redis.call('EXISTS', KEYS[2]) == 1

-- Declared registrations belong to their CrnpClient resource: a TCP message cannot change or delete them.
if exists and ARGV[6] == 'Dynamic' and redis.call('HGET', KEYS[2], 'origin') == 'Declared' then
  return { 'FAIL', 'client ' .. id .. ' is declared by a CrnpClient resource: change or delete that resource instead', 0 }
end

local function current_types()
  local raw = redis.call('HGET', KEYS[2], 'types')
  if not raw then return {} end
  return cjson.decode(raw)
end

local function distinct(list, skip)
  local seen, out = {}, {}
  for _, s in ipairs(skip or {}) do seen[s] = true end
  for _, s in ipairs(list) do
    if not seen[s] then
      seen[s] = true
      out[#out + 1] = s
    end
  end
  return out
end

local function too_many_types()
  return { 'LOW_RESOURCE', 'a client may register at most ' .. max_types .. ' event types', 0 }
end

local not_registered = { 'FAIL', 'client ' .. id .. ' is not registered: send ADD_CLIENT first', 0 }

if regtype == 'ADD_CLIENT' then
  local types = distinct(requested)
  if not exists and redis.call('SCARD', KEYS[1]) >= max_clients then
    return { 'LOW_RESOURCE', 'the server already has the maximum of ' .. max_clients .. ' clients', 0 }
  end
  if #types > max_types then return too_many_types() end
  reindex(prefix, id, exists and current_types() or {}, types)
  -- A replaced registration starts afresh: its first events tell the client the current state.
  drop_queue(prefix, KEYS[4])
  redis.call('SREM', key('busy'), id)
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[2], 'ip', ARGV[9], 'port', ARGV[10], 'origin', ARGV[6], 'at', ARGV[7], 'types', encode_strings(types))
  redis.call('SADD', KEYS[1], id)
  redis.call('SADD', member('part:', prefix .. ':part:' .. partition_of(id, partitions)), id)
  local first = queue_state(prefix, id, types, 'first')
  return { 'OK', exists and 'registration replaced' or 'client registered', first }
end

if not exists then return not_registered end
local current = current_types()

if regtype == 'ADD_EVENTS' then
  local added = distinct(requested, current)
  if #current + #added > max_types then return too_many_types() end
  local all = {}
  for _, s in ipairs(current) do all[#all + 1] = s end
  for _, s in ipairs(added) do all[#all + 1] = s end
  reindex(prefix, id, current, all)
  redis.call('HSET', KEYS[2], 'types', encode_strings(all))
  local first = queue_state(prefix, id, added, 'first')
  return { 'OK', #added .. ' event type(s) added', first }
end

if regtype == 'REMOVE_EVENTS' then
  local drop = {}
  for _, s in ipairs(requested) do drop[s] = true end
  local kept, removed = {}, 0
  for _, s in ipairs(current) do
    if drop[s] then removed = removed + 1 else kept[#kept + 1] = s end
  end
  reindex(prefix, id, current, kept)
  redis.call('HSET', KEYS[2], 'types', encode_strings(kept))
  return { 'OK', removed .. ' event type(s) removed', 0 }
end

if regtype == 'REMOVE_CLIENT' then
  remove_client(prefix, id, partitions)
  return { 'OK', 'client removed', 0 }
end

return { 'SYSTEM_ERROR', 'unknown REG_TYPE ' .. regtype, 0 }
