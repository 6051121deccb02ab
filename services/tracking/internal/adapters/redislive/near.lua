#!lua flags=no-writes
-- near.lua: the nearest members of a geo index within a radius, by an expanding-radius search.
-- Flagged no-writes: it only reads, so Redis also runs it on replicas and when out of memory.
--
-- KEYS[1] the geo index (<prefix>geo).
-- ARGV[1] longitude   ARGV[2] latitude   ARGV[3] radius, km (the full radius)   ARGV[4] limit
-- ARGV[5] first radius, km   ARGV[6] growth factor (> 1)
--
-- Runs GEOSEARCH ... BYRADIUS r km ASC COUNT limit WITHDIST WITHHASH for r = first radius,
-- then r times the growth factor, and so on while r is below the full radius, and returns the
-- first answer holding limit members; failing that, the answer for exactly the full radius
-- (ARGV[3] as sent, not a product of the loop). A search that finds limit members within r is
-- the answer for the full radius: every member within r is nearer than any member beyond it.
-- Returns GEOSEARCH's reply as is: {{member, "dist", geohash}, ...}, nearest first. The caller
-- decodes the position from the 52-bit geohash (the member's score): WITHCOORD would make Redis
-- format two numbers per member and this script copy them, which costs more than the search.

local key, lon, lat, radius = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local limit = tonumber(ARGV[4])
local full = tonumber(radius)
local r, factor = tonumber(ARGV[5]), tonumber(ARGV[6])
if not (r > 0 and factor > 1) then
	return redis.error_reply('ERR near.lua: first radius must be positive and growth factor above 1')
end

local function search(rad)
	return redis.call('GEOSEARCH', key, 'FROMLONLAT', lon, lat, 'BYRADIUS', rad, 'km',
		'ASC', 'COUNT', limit, 'WITHDIST', 'WITHHASH')
end

while r < full do
	local res = search(r)
	if #res >= limit then
		return res
	end
	r = r * factor
end
return search(radius)
