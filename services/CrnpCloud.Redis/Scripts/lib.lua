-- Shared by every script (prepended at load time). Types and events are the JSON of StoreJson.cs.

-- Keys (docs/redis.md, "Redis Cluster"). Every key of a CRNP cluster is <prefix> .. ':' .. name, and
-- <prefix> ends with the hash tag {cluster}, so all of them are in one Redis Cluster slot.
-- Each script first names the keys the caller passed in KEYS, in order: declare(prefix, names). A
-- name ending in ':' is one member of a family (client:<id>, q:<id>, dl:<id>, part:<n>, busy:<n>, idem:<key>),
-- any other one fixed key. The library reaches declared keys only through key(name), so a script
-- that touches a fixed key it did not declare fails on every Redis, not only on Redis Cluster.
-- Keys a script can only know while it runs (the index sets of a type, the payload of an event, the
-- queue and hash of every client an event matched) are derived from <prefix>: see derived() below.
local K = {}

-- KEYS[i] checked as the fixed key or family member `name` and declared under it.
local function declare_key(prefix, i, name)
  local k, want = KEYS[i], prefix .. ':' .. name
  local ok
  if string.sub(name, -1) == ':' then ok = string.sub(k, 1, #want) == want else ok = k == want end
  if not ok then error('KEYS[' .. i .. '] is ' .. k .. ', expected ' .. want) end
  K[name] = k
end

local function declare(prefix, names)
  if #KEYS ~= #names then error(#KEYS .. ' keys passed, ' .. #names .. ' declared') end
  for i, name in ipairs(names) do declare_key(prefix, i, name) end
end

-- Like declare, for a script that takes a list: the fixed keys first, then for each of n items one
-- member of each family in turn (KEYS = fixed..., then family... n times). Returns n; the script
-- reaches an item's keys with each_member, which checks them against the keys it means.
local each_fixed, each_family = 0, 0

local function declare_each(prefix, fixed, family)
  local rest = #KEYS - #fixed
  if rest < 0 or rest % #family ~= 0 then
    error(#KEYS .. ' keys passed for ' .. #fixed .. ' fixed ones and items of ' .. #family)
  end
  for i, name in ipairs(fixed) do declare_key(prefix, i, name) end
  each_fixed, each_family = #fixed, #family
  return rest / #family
end

-- Item i's (from 1) member of family j (from 1, in declare_each's order), checked.
local function each_member(i, j, want)
  local k = KEYS[each_fixed + (i - 1) * each_family + j]
  if k ~= want then error('KEYS holds ' .. tostring(k) .. ' for item ' .. i .. ', the script needs ' .. want) end
  return k
end

local function key(name)
  return K[name] or error('key ' .. name .. ' is not declared in KEYS')
end

-- A declared family member, checked against the one the script means (the caller computed it).
local function member(name, want)
  local k = key(name)
  if k ~= want then error('KEYS holds ' .. k .. ' for ' .. name .. ', the script needs ' .. want) end
  return k
end

-- A key the caller could not know: same prefix, so same hash tag, so the same slot as every
-- declared key; Redis Cluster runs the script on the master of that slot (docs/redis.md).
local function derived(prefix, rest)
  return prefix .. ':' .. rest
end

local function same_values(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- PROTOCOL.md section 5: class equal, subclass absent or equal, every registered nvpair present with equal values.
local function matches(t, e)
  if t.c ~= e.c then return false end
  if t.s ~= nil and t.s ~= e.s then return false end
  for _, want in ipairs(t.nv) do
    local found = false
    for _, have in ipairs(e.nv) do
      if have[1] == want[1] and same_values(have[2], want[2]) then
        found = true
        break
      end
    end
    if not found then return false end
  end
  return true
end

local function matches_any(types, e)
  for _, t in ipairs(types) do
    if matches(t, e) then return true end
  end
  return false
end

local function decode_all(strings)
  local out = {}
  for i, s in ipairs(strings) do out[i] = cjson.decode(s) end
  return out
end

-- cjson.encode turns an empty table into {} rather than [], so lists of strings are built by hand.
local function encode_strings(list)
  local parts = {}
  for i, s in ipairs(list) do parts[i] = cjson.encode(s) end
  return '[' .. table.concat(parts, ',') .. ']'
end

-- The subscription index: sets of client ids keyed by (class, subclass or '', first registered
-- nvpair if any). An event looks up (class, '' and its subclass) alone and with each of its own
-- nvpairs, so a resource-group event finds only the clients of that group. Types with at most one
-- nvpair live under ':subs:' and match exactly when found; types with more live under ':subsx:' and
-- are checked against the event. Class and subclass cannot hold \31 (XML forbids it), and the pair
-- is JSON, so keys are unambiguous.
local function index_key(prefix, t)
  local ns = #t.nv > 1 and 'subsx:' or 'subs:'
  local k = derived(prefix, ns .. t.c .. '\31' .. (t.s or ''))
  if t.nv[1] then k = k .. '\31' .. cjson.encode(t.nv[1]) end
  return k
end

local function candidate_keys(prefix, ns, e)
  local keys = {}
  for _, s in ipairs({ '', e.s }) do
    local base = derived(prefix, ns .. e.c .. '\31' .. s)
    keys[#keys + 1] = base
    for _, pair in ipairs(e.nv) do keys[#keys + 1] = base .. '\31' .. cjson.encode(pair) end
  end
  return keys
end

-- Queue entries reference an event by sequence; its payload is stored once in <prefix>:ev:<seq>
-- with a count of the entries that reference it (<prefix>:refs), and dropped with the last one.
local function ref_add(prefix, seq, payload, n)
  if n <= 0 then return end
  redis.call('SET', derived(prefix, 'ev:' .. seq), payload, 'NX')
  redis.call('HINCRBY', key('refs'), seq, n)
end

local function ref_drop(prefix, seq)
  if redis.call('HINCRBY', key('refs'), seq, -1) <= 0 then
    redis.call('HDEL', key('refs'), seq)
    redis.call('DEL', derived(prefix, 'ev:' .. seq))
  end
end

-- Field value of a stream entry as XRANGE returns it: { id, { f1, v1, f2, v2, ... } }.
local function entry_field(entry, name)
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

-- Empties a client's queue, releasing the payload references of its entries. (The caller keeps
-- the partition's busy set right.)
local function drop_queue(prefix, queue)
  for _, entry in ipairs(redis.call('XRANGE', queue, '-', '+')) do
    ref_drop(prefix, entry_field(entry, 's'))
  end
  redis.call('DEL', queue)
end

-- FNV-1a 32 of a client id, modulo the partition count: the same as Partitioning.Of in C#.
-- 16777619 = 2^24 + 403, split so every intermediate stays an exact double.
local function partition_of(id, partitions)
  local h = 2166136261
  for i = 1, #id do
    h = bit.bxor(h, string.byte(id, i)) % 4294967296
    h = ((h % 256) * 16777216 + h * 403) % 4294967296
  end
  return h % partitions
end

-- Wake-ups for clients that got new entries: each is added to its partition's busy set (clients
-- with a non-empty queue, what a worker's rescan reads) and one PUBLISH per touched partition lists them.
-- Marks clients as having work and wakes the workers: one busy set and one wake-up message for every
-- partition (each worker keeps the ids of the partitions it holds). Grouping by partition here cost
-- as much as queueing itself when one event goes to hundreds of clients (PROTOCOL.md section 9).
local function wake(prefix, ids)
  if #ids == 0 then return end
  redis.call('SADD', key('busy'), unpack(ids))
  -- A channel, not a key: classic PUBLISH reaches the subscribers on every node of a Redis Cluster.
  redis.call('PUBLISH', prefix .. ':wake', table.concat(ids, ' '))
end

local function reindex(prefix, id, old, new)
  local old_keys, new_keys = {}, {}
  for _, s in ipairs(old) do old_keys[index_key(prefix, cjson.decode(s))] = true end
  for _, s in ipairs(new) do new_keys[index_key(prefix, cjson.decode(s))] = true end
  for k in pairs(old_keys) do
    if not new_keys[k] then redis.call('SREM', k, id) end
  end
  for k in pairs(new_keys) do
    if not old_keys[k] then redis.call('SADD', k, id) end
  end
end

-- Deletes a registration with its index entries and its queue. Returns false if there was none.
local function remove_client(prefix, id, partitions)
  local client = member('client:', prefix .. ':client:' .. id)
  local raw = redis.call('HGET', client, 'types')
  if not raw then return false end
  reindex(prefix, id, cjson.decode(raw), {})
  drop_queue(prefix, member('q:', prefix .. ':q:' .. id))
  redis.call('DEL', client)
  redis.call('SREM', key('clients'), id)
  redis.call('SREM', key('busy'), id)
  redis.call('SREM', member('part:', prefix .. ':part:' .. partition_of(id, partitions)), id)
  return true
end

-- Milliseconds on the Redis server's clock (leases expire by this clock only).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Copies a client's queue, payloads included, to its dead-letter stream <prefix>:dl:<id>, oldest
-- first, kept to max entries and max_age_ms (the stream expires with its newest entry). Called by
-- remove_failed.lua before remove_client drops the queue (PROTOCOL.md section 11).
local function dead_letter(prefix, id, reason, max, max_age_ms)
  local entries = redis.call('XRANGE', member('q:', prefix .. ':q:' .. id), '-', '+')
  if #entries == 0 then return end
  local dl = member('dl:', prefix .. ':dl:' .. id)
  for _, entry in ipairs(entries) do
    local s = entry_field(entry, 's')
    local payload = redis.call('GET', derived(prefix, 'ev:' .. s))
    if payload then
      redis.call('XADD', dl, 'MAXLEN', max, '*', 'k', entry_field(entry, 'k'), 's', s, 'd', payload, 'r', reason)
    end
  end
  redis.call('XTRIM', dl, 'MINID', string.format('%d', now_ms() - max_age_ms))
  redis.call('PEXPIRE', dl, max_age_ms)
end

-- Leases live in one hash, <prefix>:leases, field = partition, value = "owner token expiry-ms", so
-- a claim reads and writes all of them in two commands.
local function parse_lease(value)
  if not value then return nil end
  local owner, token, exp = string.match(value, '^(%S+) (%d+) (%d+)$')
  return { owner = owner, token = tonumber(token), exp = tonumber(exp) }
end

-- True while the lease of partition p still carries this fencing token and has not expired.
local function holds(prefix, p, token)
  local l = parse_lease(redis.call('HGET', key('leases'), p))
  return l ~= nil and l.token == tonumber(token) and l.exp > now_ms()
end

-- Queues the current state of the given types (JSON strings) for a client, oldest first, each
-- event once: first events ('first') at registration, and resync ('resync') after a failover.
local function queue_state(prefix, id, type_strings, kind)
  if #type_strings == 0 then return 0 end
  local types = decode_all(type_strings)
  local picked = {}
  for _, raw in ipairs(redis.call('HVALS', key('latest'))) do
    local stored = cjson.decode(raw)
    if matches_any(types, stored.e) then picked[#picked + 1] = { stored.seq, raw } end
  end
  table.sort(picked, function(a, b) return a[1] < b[1] end)
  for _, p in ipairs(picked) do
    redis.call('XADD', member('q:', prefix .. ':q:' .. id), '*', 'k', kind, 's', p[1])
    ref_add(prefix, p[1], p[2], 1)
  end
  if #picked > 0 then wake(prefix, { id }) end
  return #picked
end
