-- Shared by every script (prepended at load time). Types and events are the JSON of StoreJson.cs.

local function same_values(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do
    if a[i] ~= b[i] then return false end
  end
  return true
end

-- CRNP-SPEC section 5: class equal, subclass absent or equal, every registered nvpair present with equal values.
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

-- The subscription index: one set of client ids per (class, subclass), '' for a class-only type.
local function index_key(prefix, t)
  return prefix .. ':subs:' .. t.c .. '\31' .. (t.s or '')
end
