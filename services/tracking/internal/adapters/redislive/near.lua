#!lua flags=no-writes
-- near.lua: the nearest members of a geo index within a radius, by an expanding-radius search.
-- Flagged no-writes: it only reads, so Redis also runs it on replicas and when out of memory.
--
-- KEYS[1] the geo index (<prefix>geo).
-- ARGV[1] longitude   ARGV[2] latitude   ARGV[3] radius, km (the full radius)   ARGV[4] limit
-- ARGV[5] first radius, km   ARGV[6] growth factor (> 1)
--
-- Runs GEOSEARCH ... BYRADIUS r km ASC COUNT limit WITHDIST WITHHASH for r = first radius,
-- then a larger r (grow: as the density found suggests, or r times the growth factor), and so
-- on while r is below the full radius, and returns the first answer holding limit members;
-- failing that, the answer for exactly the full radius (ARGV[3] as sent, not a product of the
-- loop). A search that finds limit members within r is
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

-- grow is the radius to search after a search at r that found res, fewer than limit members:
-- the radius that should hold limit members at the density found, counted as the members grow
-- with the distance here (k members within r, k/2^D within r/2: D is 1 along a line, 2 over
-- an area), with a margin; by the growth factor when too few were found to tell. Never less
-- than 1.25 r: a step that falls short wastes a search.
local function grow(r, res)
	local k = #res
	if k < 8 then
		return r * factor
	end
	local half = 0
	for i = 1, k do
		if tonumber(res[i][2]) > r / 2 then
			break
		end
		half = i
	end
	local d = 2
	if half > 0 then
		d = math.log(k / half) / math.log(2)
	end
	d = math.max(1, math.min(2, d))
	return math.max(r * 1.25, r * (limit / k) ^ (1 / d) * 1.15)
end

while r < full do
	local res = search(r)
	if #res >= limit then
		return res
	end
	r = grow(r, res)
end
return search(radius)
