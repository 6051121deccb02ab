// Package redislive keeps the live state of every container in Redis: its last position, last
// milestone, mode and vehicle, current references and last-seen time, plus a geo index of
// positions for "which containers are near this point".
//
// Redis holds only what can be rebuilt from the event history in Postgres. Every update goes
// through one Lua script (apply.lua) that lands each part only when the event is newer than what
// that part holds, so late and redelivered events never move a container backwards and the
// result does not depend on the order events arrive in. Applying the same update twice is
// harmless, which is what makes retrying a whole batch after an error safe.
//
// Keys, under a prefix such as "scoda:tracking:":
//
//	<prefix>c:{<container>}   hash: the container's live state (the hash tag keeps a container's
//	                          keys in one Redis Cluster slot)
//	<prefix>geo               geo index (sorted set) of container positions
//	<prefix>rebuilt           marker set once the live state was rebuilt from the store of record
//
// The geo index is one key, so on Redis Cluster it lives in one slot and the script, which
// touches a container's hash and the index together, would be refused as CROSSSLOT. Sharding it
// (out of scope for now) would mean grouping containers into N fixed shards by a hash of the
// container number and tagging both keys with the shard — <prefix>c:{s<n>}:<container> and
// <prefix>geo:{s<n>} — so the script stays atomic within one slot, and Near would run GEOSEARCH
// on every shard and merge the answers by distance.
package redislive

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed apply.lua
var applySource string

// Store reads and writes the live state. It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
	script *redis.Script

	mu     sync.Mutex
	loaded bool // SCRIPT LOAD succeeded once; a NOSCRIPT reply later falls back to EVAL
}

// New returns a Store that keeps its keys under prefix (for example "scoda:tracking:"). The
// prefix must not contain '{' or '}', which would change the keys' hash tag.
func New(c redis.UniversalClient, prefix string) *Store {
	return &Store{c: c, prefix: prefix, script: redis.NewScript(applySource)}
}

// Update is one event's effect on the live state. Position fields are set for position fixes;
// milestone fields for equipment, transport and shipment events. At is the event time
// (when it occurred), used for the newer-than check.
type Update struct {
	Container  string
	EventID    string
	At         time.Time
	RecordedAt time.Time

	IsPosition           bool
	Lat, Lon             float64
	SpeedKmh, HeadingDeg *float64

	Milestone string // type code such as GTIN, LOAD, DEPA, ARRI, DISC, GTOT; "" for positions
	EventType string // EQUIPMENT, TRANSPORT, SHIPMENT or POSITION
	Location  string // UN/LOCODE, may be ""
	Mode      string // RAIL, VESSEL, TRUCK, BARGE, AIR or ""
	Vehicle   string // train number, vessel IMO or truck plate; may be ""

	// References are the event's current references (BKG, TRD, CNN, ...). They are merged into
	// the live state key by key, the newest event carrying a key winning; never cleared.
	References map[string]string
}

// Result tells what one Update did. Applied is true when the update's position or milestone
// became the container's current one (for an update with neither, when it changed the mode, the
// vehicle or a reference). When a position was applied over an earlier one, HadPrev is true and
// Prev* describe the position it replaced, for geofence derivation.
type Result struct {
	Applied     bool
	HadPrev     bool
	PrevLat     float64
	PrevLon     float64
	PrevAt      time.Time
	PrevEventID string
	// Replayed: the update is the container's current position already (a redelivery); Prev*
	// then describe the fix it replaced when it first landed.
	Replayed bool
}

// Live is the live state of one container.
type Live struct {
	Container string

	HasPosition          bool
	Lat, Lon             float64
	SpeedKmh, HeadingDeg *float64
	PositionAt           time.Time
	PositionEventID      string

	Milestone          string
	MilestoneEventType string
	MilestoneLocation  string
	MilestoneAt        time.Time

	Mode, Vehicle string
	References    map[string]string
	LastSeen      time.Time // latest RecordedAt of any event applied
	UpdatedAt     time.Time // when the live state last changed
}

// Nearby is a container found by Near, with the position held in the geo index (accurate to
// well under a metre).
type Nearby struct {
	Container  string
	DistanceKm float64
	Lat, Lon   float64
}

// geoMaxLat is the latitude limit of Redis geo indexes (Web Mercator).
const geoMaxLat = 85.05112878

func (s *Store) containerKey(container string) string { return s.prefix + "c:{" + container + "}" }
func (s *Store) geoKey() string                       { return s.prefix + "geo" }
func (s *Store) sentinelKey() string                  { return s.prefix + "rebuilt" }

// Apply applies the updates in one pipeline, one script call per update, and returns a Result
// per update in the same order. Invalid input is refused before anything is sent. On an error
// some updates may have landed; retrying the whole batch is safe.
func (s *Store) Apply(ctx context.Context, ups []Update) ([]Result, error) {
	if len(ups) == 0 {
		return nil, nil
	}
	for i := range ups {
		if err := validate(&ups[i]); err != nil {
			return nil, fmt.Errorf("redislive: update %d: %w", i, err)
		}
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	now := strconv.FormatInt(time.Now().UnixMicro(), 10)
	keys := make([][]string, len(ups))
	args := make([][]any, len(ups))
	for i := range ups {
		keys[i] = []string{s.containerKey(ups[i].Container), s.geoKey()}
		args[i] = scriptArgs(&ups[i], now)
	}

	sha := s.script.Hash()
	cmds := make([]*redis.Cmd, len(ups))
	pipe := s.c.Pipeline()
	for i := range ups {
		cmds[i] = pipe.EvalSha(ctx, sha, keys[i], args[i]...)
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below

	// After a restart or SCRIPT FLUSH the server has forgotten the script: those calls did
	// nothing and are sent again with EVAL, which also caches the script for the next batch.
	var missing []int
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			if !redis.HasErrorPrefix(err, "NOSCRIPT") {
				return nil, fmt.Errorf("redislive: apply %s: %w", ups[i].Container, err)
			}
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		pipe := s.c.Pipeline()
		for _, i := range missing {
			cmds[i] = pipe.Eval(ctx, applySource, keys[i], args[i]...)
		}
		_, _ = pipe.Exec(ctx)
		for _, i := range missing {
			if err := cmds[i].Err(); err != nil {
				return nil, fmt.Errorf("redislive: apply %s: %w", ups[i].Container, err)
			}
		}
	}

	res := make([]Result, len(ups))
	for i, cmd := range cmds {
		r, err := parseResult(cmd.Val())
		if err != nil {
			return nil, fmt.Errorf("redislive: apply %s: %w", ups[i].Container, err)
		}
		res[i] = r
	}
	return res, nil
}

// load sends SCRIPT LOAD once per Store. Later losses of the script (a restarted server) are
// handled by Apply's fallback to EVAL.
func (s *Store) load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded {
		return nil
	}
	if err := s.script.Load(ctx, s.c).Err(); err != nil {
		return fmt.Errorf("redislive: load script: %w", err)
	}
	s.loaded = true
	return nil
}

func validate(u *Update) error {
	switch {
	case u.Container == "":
		return errors.New("empty container")
	case strings.ContainsAny(u.Container, "{}"):
		return fmt.Errorf("container %q contains a brace", u.Container)
	case u.At.IsZero():
		return errors.New("zero event time")
	}
	if u.IsPosition {
		if !(u.Lat >= -90 && u.Lat <= 90) || !(u.Lon >= -180 && u.Lon <= 180) {
			return fmt.Errorf("position %v,%v out of range", u.Lat, u.Lon)
		}
		for _, p := range []*float64{u.SpeedKmh, u.HeadingDeg} {
			if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
				return errors.New("speed or heading is not a finite number")
			}
		}
	}
	return nil
}

func scriptArgs(u *Update, now string) []any {
	rec := ""
	if !u.RecordedAt.IsZero() {
		rec = strconv.FormatInt(u.RecordedAt.UnixMicro(), 10)
	}
	pos, lat, lon, spd, hdg := "0", "", "", "", ""
	if u.IsPosition {
		pos, lat, lon, spd, hdg = "1", formatFloat(u.Lat), formatFloat(u.Lon), optFloat(u.SpeedKmh), optFloat(u.HeadingDeg)
	}
	a := make([]any, 0, 15+2*len(u.References))
	a = append(a,
		u.Container, u.EventID, strconv.FormatInt(u.At.UnixMicro(), 10), rec, now,
		pos, lat, lon, spd, hdg,
		u.Milestone, u.EventType, u.Location,
		u.Mode, u.Vehicle,
	)
	for k, v := range u.References {
		a = append(a, k, v)
	}
	return a
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func optFloat(p *float64) string {
	if p == nil {
		return ""
	}
	return formatFloat(*p)
}

func parseResult(v any) (Result, error) {
	a, ok := v.([]any)
	if !ok || len(a) != 7 {
		return Result{}, fmt.Errorf("unexpected script reply %#v", v)
	}
	applied, _ := a[0].(int64)
	hadPrev, _ := a[1].(int64)
	replayed, _ := a[6].(int64)
	r := Result{Applied: applied == 1, HadPrev: hadPrev == 1, Replayed: replayed == 1}
	if !r.HadPrev {
		return r, nil
	}
	lat, _ := a[2].(string)
	lon, _ := a[3].(string)
	at, _ := a[4].(string)
	r.PrevEventID, _ = a[5].(string)
	var err error
	if r.PrevLat, err = strconv.ParseFloat(lat, 64); err != nil {
		return Result{}, fmt.Errorf("previous latitude: %w", err)
	}
	if r.PrevLon, err = strconv.ParseFloat(lon, 64); err != nil {
		return Result{}, fmt.Errorf("previous longitude: %w", err)
	}
	if r.PrevAt, err = parseMicros(at); err != nil {
		return Result{}, fmt.Errorf("previous time: %w", err)
	}
	return r, nil
}

func parseMicros(s string) (time.Time, error) {
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMicro(us).UTC(), nil
}

// Get returns the live state of a container, and false when Redis holds none.
func (s *Store) Get(ctx context.Context, container string) (Live, bool, error) {
	m, err := s.c.HGetAll(ctx, s.containerKey(container)).Result()
	if err != nil {
		return Live{}, false, fmt.Errorf("redislive: get %s: %w", container, err)
	}
	if len(m) == 0 {
		return Live{}, false, nil
	}
	l, err := parseLive(container, m)
	if err != nil {
		return Live{}, false, fmt.Errorf("redislive: get %s: %w", container, err)
	}
	return l, true, nil
}

func parseLive(container string, m map[string]string) (Live, error) {
	l := Live{
		Container:          container,
		PositionEventID:    m["pid"],
		Milestone:          m["ms"],
		MilestoneEventType: m["met"],
		MilestoneLocation:  m["mloc"],
		Mode:               m["md"],
		Vehicle:            m["vh"],
	}
	var errs []error
	float := func(f string) float64 {
		v, err := strconv.ParseFloat(m[f], 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", f, err))
		}
		return v
	}
	optFloat := func(f string) *float64 {
		if _, ok := m[f]; !ok {
			return nil
		}
		v := float(f)
		return &v
	}
	micros := func(f string) time.Time {
		if _, ok := m[f]; !ok {
			return time.Time{}
		}
		t, err := parseMicros(m[f])
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", f, err))
		}
		return t
	}
	if _, ok := m["pt"]; ok {
		l.HasPosition = true
		l.Lat, l.Lon = float("lat"), float("lon")
		l.SpeedKmh, l.HeadingDeg = optFloat("spd"), optFloat("hdg")
		l.PositionAt = micros("pt")
	}
	l.MilestoneAt = micros("mt")
	l.LastSeen = micros("ls")
	l.UpdatedAt = micros("up")
	for f, v := range m {
		if k, ok := strings.CutPrefix(f, "r:"); ok {
			if l.References == nil {
				l.References = make(map[string]string)
			}
			l.References[k] = v
		}
	}
	return l, errors.Join(errs...)
}

// Near returns up to limit containers whose last position lies within radiusKm of (lat, lon),
// nearest first.
//
// The answer is the one a single GEOSEARCH BYRADIUS radiusKm ASC COUNT limit WITHCOORD WITHDIST
// gives, found with far less work where containers are dense, in one round trip: a script
// (near.lua) searches a radius of radiusKm/8 first and grows it 4 times at a time while it holds
// fewer than limit containers, the last step being exactly radiusKm. A step that holds limit
// containers is the answer: Redis keeps a member when its distance d — computed from the centre
// and the member alone, whatever the radius — satisfies d <= r, so every member within the
// smaller radius r is strictly nearer than every member within radiusKm but beyond r, and the
// nearest limit within r are the nearest limit within radiusKm. The set is the same; only the
// order among containers at exactly equal distances, which Redis leaves unspecified, may differ
// — as it may between two single GEOSEARCH calls. Distances are the same text GEOSEARCH sends;
// positions are decoded from the geohash (see decodeGeohash), the same doubles.
func (s *Store) Near(ctx context.Context, lat, lon, radiusKm float64, limit int) ([]Nearby, error) {
	return s.near(ctx, lat, lon, radiusKm, limit, radiusKm/nearFirstDivisor, nearGrowth)
}

// The expanding search of Near: first radius radiusKm/8, then the radius that should hold the
// limit at the density the last search found (near.lua's grow, which reads from the distances
// found whether the members grow with the distance as along a line or as over an area), at
// least 1.25 times the last; or 4 times the last when it found too few to tell.
//
// A step that falls short is wasted work (it scanned, sorted and returned its members). On
// BenchmarkNear's data (1,000,000 containers, ~1,000 in a 10 km circle) along rail lines the
// nearest 100 lie within ~1 km, so the first step (1.25 km) nearly always answers: Redis CPU
// per query 381 µs against 948 µs for the single search. Spread over a band ~10 km wide (as
// `make bench` spreads them) the first step falls short; growing by the density found instead
// of 4 times cut the mean query from 250 to 216 µs at limit 100 and from 773 to 621 µs at
// limit 400 (p99 389 → 348 and 1,609 → 1,019 µs), and left the lines as they were.
const (
	nearFirstDivisor = 8
	nearGrowth       = 4
)

//go:embed near.lua
var nearSource string

var nearScript = redis.NewScript(nearSource)

// near is Near with the first radius and growth factor of the expanding search given.
func (s *Store) near(ctx context.Context, lat, lon, radiusKm float64, limit int, firstKm, growth float64) ([]Nearby, error) {
	if !(lat >= -geoMaxLat && lat <= geoMaxLat) || !(lon >= -180 && lon <= 180) {
		return nil, fmt.Errorf("redislive: near: point %v,%v out of range", lat, lon)
	}
	if !(radiusKm > 0) || limit <= 0 {
		return nil, fmt.Errorf("redislive: near: radius %v km and limit %d must be positive", radiusKm, limit)
	}
	if !(firstKm > 0) || !(growth > 1) {
		return nil, fmt.Errorf("redislive: near: first radius %v km, growth %v", firstKm, growth)
	}
	// Script.Run sends EVALSHA and falls back to EVAL when the server does not hold the script.
	v, err := nearScript.Run(ctx, s.c, []string{s.geoKey()},
		formatFloat(lon), formatFloat(lat), formatFloat(radiusKm), limit,
		formatFloat(firstKm), formatFloat(growth)).Result()
	if err != nil {
		return nil, fmt.Errorf("redislive: near: %w", err)
	}
	out, err := parseNear(v)
	if err != nil {
		return nil, fmt.Errorf("redislive: near: %w", err)
	}
	return out, nil
}

// parseNear reads GEOSEARCH ... WITHDIST WITHHASH as returned by near.lua: {member, "dist",
// geohash} per member. The distance is the text a direct GEOSEARCH sends; the position is
// decoded from the geohash as Redis decodes it for WITHCOORD.
func parseNear(v any) ([]Nearby, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected script reply %#v", v)
	}
	out := make([]Nearby, len(a))
	for i, e := range a {
		m, ok := e.([]any)
		if !ok || len(m) != 3 {
			return nil, fmt.Errorf("unexpected member reply %#v", e)
		}
		name, ok1 := m[0].(string)
		dist, ok2 := m[1].(string)
		hash, ok3 := m[2].(int64)
		if !ok1 || !ok2 || !ok3 || hash < 0 || hash >= 1<<52 {
			return nil, fmt.Errorf("unexpected member reply %#v", e)
		}
		d, err := strconv.ParseFloat(dist, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: distance: %w", name, err)
		}
		lat, lon := decodeGeohash(uint64(hash))
		out[i] = Nearby{Container: name, DistanceKm: d, Lat: lat, Lon: lon}
	}
	return out, nil
}

// decodeGeohash returns the centre of the cell of a 52-bit geohash as Redis computes it
// (geohashDecodeToLongLatWGS84 in geohash.c: latitude in the even bits, longitude in the odd
// ones, 26 each; the same double operations in the same order, each rounded — the explicit
// float64 conversions keep the compiler from fusing them), so the result is the very double
// GEOSEARCH ... WITHCOORD formats. Its text has 17 decimals, which gives back the same double
// once parsed except within 0.0625° of the equator or the prime meridian, where it may differ
// by less than 1e-17°; the value here is then the exact one.
func decodeGeohash(h uint64) (lat, lon float64) {
	const (
		latMin, latMax = -geoMaxLat, geoMaxLat
		lonMin, lonMax = -180.0, 180.0
		cells          = float64(1 << 26)
	)
	ilat, ilon := float64(compactBits(h)), float64(compactBits(h>>1))
	latScale, lonScale := float64(latMax-latMin), float64(lonMax-lonMin)
	latLo := latMin + float64(ilat/cells*latScale)
	latHi := latMin + float64((ilat+1)/cells*latScale)
	lonLo := lonMin + float64(ilon/cells*lonScale)
	lonHi := lonMin + float64((ilon+1)/cells*lonScale)
	lon = min(max((lonLo+lonHi)/2, lonMin), lonMax)
	lat = min(max((latLo+latHi)/2, latMin), latMax)
	return lat, lon
}

// compactBits gathers the even bits of x (bits 0, 2, 4, ...) into its low 32 bits.
func compactBits(x uint64) uint64 {
	x &= 0x5555555555555555
	x = (x | x>>1) & 0x3333333333333333
	x = (x | x>>2) & 0x0F0F0F0F0F0F0F0F
	x = (x | x>>4) & 0x00FF00FF00FF00FF
	x = (x | x>>8) & 0x0000FFFF0000FFFF
	x = (x | x>>16) & 0x00000000FFFFFFFF
	return x
}

// Sentinel reports whether the "rebuilt" marker is present. Its absence means Redis was emptied
// or restarted since the live state was last rebuilt from the store of record.
func (s *Store) Sentinel(ctx context.Context) (bool, error) {
	n, err := s.c.Exists(ctx, s.sentinelKey()).Result()
	if err != nil {
		return false, fmt.Errorf("redislive: sentinel: %w", err)
	}
	return n == 1, nil
}

// MarkRebuilt sets the "rebuilt" marker, once the live state was rebuilt.
func (s *Store) MarkRebuilt(ctx context.Context) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if err := s.c.Set(ctx, s.sentinelKey(), now, 0).Err(); err != nil {
		return fmt.Errorf("redislive: mark rebuilt: %w", err)
	}
	return nil
}
