-- A client's dead letters within the age limit, oldest first. KEYS: dl:<client>.
-- ARGV[1] key prefix, ARGV[2] client id, ARGV[3] how many, ARGV[4] age limit ms.
-- Returns { entry id, kind, reason, stored event JSON, ... }.
declare(ARGV[1], { 'dl:' })
local dl = member('dl:', ARGV[1] .. ':dl:' .. ARGV[2])
local out = {}
for _, entry in ipairs(redis.call('XRANGE', dl, string.format('%d', now_ms() - tonumber(ARGV[4])), '+', 'COUNT', ARGV[3])) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry_field(entry, 'k')
  out[#out + 1] = entry_field(entry, 'r')
  out[#out + 1] = entry_field(entry, 'd')
end
return out
