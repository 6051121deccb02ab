-- apply.lua: one event's effect on one container's live state, atomically.
--
-- KEYS[1] the container's hash (<prefix>c:{<container>}), KEYS[2] the geo index (<prefix>geo).
-- ARGV[1] container (geo member)   ARGV[2] event id   ARGV[3] event time, unix microseconds
-- ARGV[4] recorded time, unix µs or ""   ARGV[5] now, unix µs (UpdatedAt)
-- ARGV[6] "1" for a position fix   ARGV[7] lat   ARGV[8] lon   ARGV[9] speed or ""   ARGV[10] heading or ""
-- ARGV[11] milestone code or ""   ARGV[12] event type   ARGV[13] location
-- ARGV[14] mode or ""   ARGV[15] vehicle or ""   ARGV[16..] reference key, value pairs
--
-- Every part lands only when the event is newer than what that part holds: a later event time,
-- or the same time and a greater event id (compared byte by byte, so the winner does not depend
-- on the server's locale nor on the order the events arrive in).
--
-- Hash fields: pt pid lat lon spd hdg (position), mt mid ms met mloc (milestone),
-- md mdt mdi (mode), vh vht vhi (vehicle), r:<k> rt:<k> ri:<k> (a reference and its stamp),
-- ls (last seen, max recorded time), up (updated at). Times are integer microseconds.
--
-- The fix a position replaced is kept too (ppt ppid plat plon), so a redelivered position that
-- is already current (a replay after a crash between the cache write and the ack) returns the
-- same previous fix as the first time, and the geofence milestones derived from the pair can
-- be derived again (with the same ids, which the stream dedupes).
--
-- Returns {applied, hadPrev, prevLat, prevLon, prevAt, prevEventID, replayed}.

local h, geo = KEYS[1], KEYS[2]
local member, id, atS, recS, nowS = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local at = tonumber(atS)
local isPos = ARGV[6] == '1'
local ms, mode, veh = ARGV[11], ARGV[14], ARGV[15]
local nref = (#ARGV - 15) / 2

local function greater(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end

-- newer reports whether this event is newer than the stamp (curT, curID); no stamp: newer.
local function newer(curT, curID)
  if not curT then return true end
  local t = tonumber(curT)
  if at ~= t then return at > t end
  return greater(id, curID or '')
end

local fields = {'pt', 'pid', 'lat', 'lon', 'mt', 'mid', 'mdt', 'mdi', 'vht', 'vhi', 'ls'}
for i = 0, nref - 1 do
  local k = ARGV[16 + 2 * i]
  fields[#fields + 1] = 'rt:' .. k
  fields[#fields + 1] = 'ri:' .. k
end
local pbase = #fields
fields[#fields + 1] = 'ppt'; fields[#fields + 1] = 'ppid'; fields[#fields + 1] = 'plat'; fields[#fields + 1] = 'plon'
local cur = redis.call('HMGET', h, unpack(fields))

local set, del = {}, {}
local function put(f, v)
  set[#set + 1] = f
  set[#set + 1] = v
end

local applied, other, hadPrev, replayed = 0, false, 0, 0
local pLat, pLon, pAt, pID = '', '', '', ''

if isPos and newer(cur[1], cur[2]) then
  if cur[1] then
    hadPrev, pAt, pID, pLat, pLon = 1, cur[1], cur[2] or '', cur[3] or '', cur[4] or ''
  end
  put('pt', atS); put('pid', id); put('lat', ARGV[7]); put('lon', ARGV[8])
  if cur[1] then
    put('ppt', cur[1]); put('ppid', cur[2] or ''); put('plat', cur[3] or ''); put('plon', cur[4] or '')
  else
    del[#del + 1] = 'ppt'; del[#del + 1] = 'ppid'; del[#del + 1] = 'plat'; del[#del + 1] = 'plon'
  end
  -- Speed and heading belong to the fix: a fix without them clears the old ones.
  if ARGV[9] ~= '' then put('spd', ARGV[9]) else del[#del + 1] = 'spd' end
  if ARGV[10] ~= '' then put('hdg', ARGV[10]) else del[#del + 1] = 'hdg' end
  -- GEOADD refuses latitudes beyond the Web Mercator limit; such a fix is kept in the hash but
  -- the container leaves the index rather than staying at a stale point.
  if math.abs(tonumber(ARGV[7])) <= 85.05112878 then
    redis.call('GEOADD', geo, ARGV[8], ARGV[7], member)
  else
    redis.call('ZREM', geo, member)
  end
  applied = 1
elseif isPos and cur[2] == id and cur[pbase + 1] then
  replayed, hadPrev = 1, 1
  pAt, pID, pLat, pLon = cur[pbase + 1], cur[pbase + 2] or '', cur[pbase + 3] or '', cur[pbase + 4] or ''
end

if ms ~= '' and newer(cur[5], cur[6]) then
  put('mt', atS); put('mid', id); put('ms', ms); put('met', ARGV[12]); put('mloc', ARGV[13])
  applied = 1
end

if mode ~= '' and newer(cur[7], cur[8]) then
  put('md', mode); put('mdt', atS); put('mdi', id)
  other = true
end

if veh ~= '' and newer(cur[9], cur[10]) then
  put('vh', veh); put('vht', atS); put('vhi', id)
  other = true
end

for i = 0, nref - 1 do
  local k, v = ARGV[16 + 2 * i], ARGV[17 + 2 * i]
  if v ~= '' and newer(cur[12 + 2 * i], cur[13 + 2 * i]) then
    put('r:' .. k, v); put('rt:' .. k, atS); put('ri:' .. k, id)
    other = true
  end
end

if recS ~= '' and (not cur[11] or tonumber(recS) > tonumber(cur[11])) then
  put('ls', recS)
end

if #set > 0 then
  put('up', nowS)
  redis.call('HSET', h, unpack(set))
  if #del > 0 then redis.call('HDEL', h, unpack(del)) end
end

-- An update with neither a position nor a milestone counts as applied when it changed the
-- mode, the vehicle or a reference.
if not isPos and ms == '' and other then applied = 1 end

return {applied, hadPrev, pLat, pLon, pAt, pID, replayed}
