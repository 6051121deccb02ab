package main

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/iso6346"
)

// owners are the owner codes of the benchmark's containers: container i is owner i%4 with
// serial i/4, so up to four million distinct numbers.
var owners = []string{"SCD", "QDL", "MSK", "CSQ"}

// containerNo is the number of container i. Containers [0, subscribed) are booked by the bench
// tenant, [0, containers) carry the rate runs' events, [0, live) have a position after the fill.
func containerNo(i int) string {
	no, err := iso6346.Make(owners[i%len(owners)], iso6346.CategoryFreight, i/len(owners))
	if err != nil {
		panic(fmt.Sprintf("container %d: %v", i, err)) // i is below 4,000,000 by the flags' check
	}
	return string(no)
}

// corridorLines are the straight segments between consecutive stops of the corridor's routes,
// a segment once per route that runs on it: fixes of the fill and the geo queries' centres lie
// on them, as trains do, and a point falls on a segment in proportion to its length times the
// routes using it (the short border segments get a border's share, not a whole segment's).
type corridorLines struct {
	segs [][2]geo.Point
	cum  []float64 // cumulative length, km
}

func loadCorridor() (corridorLines, error) {
	n, err := corridor.Load()
	if err != nil {
		return corridorLines{}, err
	}
	var out corridorLines
	total := 0.0
	for _, r := range n.Routes() {
		for i := 1; i < len(r.Stops); i++ {
			a, _ := n.Location(r.Stops[i-1])
			b, _ := n.Location(r.Stops[i])
			total += geo.DistanceKm(a.Point, b.Point)
			out.segs = append(out.segs, [2]geo.Point{a.Point, b.Point})
			out.cum = append(out.cum, total)
		}
	}
	if total == 0 {
		return out, fmt.Errorf("the corridor has no route segments")
	}
	return out, nil
}

// point is a random point of the corridor, moved by up to noiseDeg in each axis (yards,
// parallel tracks).
func (c corridorLines) point(rng *rand.Rand, noiseDeg float64) geo.Point {
	i, _ := slices.BinarySearch(c.cum, rng.Float64()*c.cum[len(c.cum)-1])
	s := c.segs[min(i, len(c.segs)-1)]
	f := rng.Float64()
	return geo.Point{
		Lat: s[0].Lat + f*(s[1].Lat-s[0].Lat) + (rng.Float64()-0.5)*2*noiseDeg,
		Lon: s[0].Lon + f*(s[1].Lon-s[0].Lon) + (rng.Float64()-0.5)*2*noiseDeg,
	}
}

// generator writes DCSA event JSON by hand (no maps, no reflection), so making bodies costs the
// two shared cores little. It is used by one goroutine at a time.
type generator struct {
	rng        *rand.Rand
	lines      corridorLines
	clock      time.Time // event time, one millisecond further per event: each container moves forward
	containers int       // rate runs: events over containers [0, containers)
	subscribed int       // containers [0, subscribed) are the bench tenant's
}

func newGenerator(seed uint64, lines corridorLines, containers, subscribed int) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x5c0da)), lines: lines,
		clock: time.Now().Add(-6 * time.Hour).Truncate(time.Millisecond), containers: containers, subscribed: subscribed}
}

// batch is one request body (or NATS message) and the ids of its events for subscribed
// containers, whose webhooks the receiver waits for.
type batch struct {
	body       []byte
	events     int
	subscribed []string
}

var milestones = []struct{ kind, code string }{
	{"EQUIPMENT", "GTIN"}, {"EQUIPMENT", "LOAD"}, {"EQUIPMENT", "DISC"}, {"EQUIPMENT", "GTOT"},
	{"TRANSPORT", "DEPA"}, {"TRANSPORT", "ARRI"},
}

var stations = []string{"CNJZH", "CNURM", "CNHRS", "KZHOR", "KZALA", "CNAKL", "KZDOS"}

// next makes a batch of n events over the rate runs' containers: 90 % GNSS fixes on the
// corridor, 10 % equipment and transport milestones.
func (g *generator) next(n int) batch {
	b := batch{body: make([]byte, 0, n*330+16), events: n}
	b.body = append(b.body, `{"events":[`...)
	for i := range n {
		if i > 0 {
			b.body = append(b.body, ',')
		}
		c := g.rng.IntN(g.containers)
		var id string
		if g.rng.IntN(10) == 0 {
			id = g.milestone(&b, c)
		} else {
			id = g.position(&b, c, g.lines.point(g.rng, 0.01))
		}
		if c < g.subscribed {
			b.subscribed = append(b.subscribed, id)
		}
	}
	b.body = append(b.body, "]}"...)
	return b
}

// fill makes a batch of one position fix for each of containers [from, from+n).
func (g *generator) fill(from, n int) batch {
	b := batch{body: make([]byte, 0, n*300+16), events: n}
	b.body = append(b.body, `{"events":[`...)
	for i := range n {
		if i > 0 {
			b.body = append(b.body, ',')
		}
		g.position(&b, from+i, g.lines.point(g.rng, 0.05))
	}
	b.body = append(b.body, "]}"...)
	return b
}

func (g *generator) head(b *batch, kind string, c int) (id, no, at string) {
	id = g.uuid()
	no = containerNo(c)
	g.clock = g.clock.Add(time.Millisecond)
	at = g.clock.UTC().Format("2006-01-02T15:04:05.000Z")
	b.body = append(b.body, `{"eventID":"`...)
	b.body = append(b.body, id...)
	b.body = append(b.body, `","eventType":"`...)
	b.body = append(b.body, kind...)
	b.body = append(b.body, `","eventClassifierCode":"ACT","eventDateTime":"`...)
	b.body = append(b.body, at...)
	b.body = append(b.body, `","equipmentReference":"`...)
	b.body = append(b.body, no...)
	b.body = append(b.body, '"')
	return id, no, at
}

func (g *generator) position(b *batch, c int, p geo.Point) string {
	id, no, _ := g.head(b, "POSITION", c)
	b.body = append(b.body, `,"latitude":`...)
	b.body = strconv.AppendFloat(b.body, p.Lat, 'f', 6, 64)
	b.body = append(b.body, `,"longitude":`...)
	b.body = strconv.AppendFloat(b.body, p.Lon, 'f', 6, 64)
	b.body = append(b.body, `,"speedKmh":`...)
	b.body = strconv.AppendFloat(b.body, 40+20*g.rng.Float64(), 'f', 1, 64)
	b.body = append(b.body, `,"positionSource":"GNSS","deviceID":"gps-`...)
	b.body = append(b.body, no...)
	b.body = append(b.body, `"}`...)
	return id
}

func (g *generator) milestone(b *batch, c int) string {
	m := milestones[g.rng.IntN(len(milestones))]
	loc := stations[g.rng.IntN(len(stations))]
	id, _, at := g.head(b, m.kind, c)
	b.body = append(b.body, `,"eventCreatedDateTime":"`...)
	b.body = append(b.body, at...)
	if m.kind == "EQUIPMENT" {
		b.body = append(b.body, `","equipmentEventTypeCode":"`...)
		b.body = append(b.body, m.code...)
		b.body = append(b.body, `","ISOEquipmentCode":"22G1","emptyIndicatorCode":"LADEN","eventLocation":{"UNLocationCode":"`...)
		b.body = append(b.body, loc...)
		b.body = append(b.body, `"}}`...)
		return id
	}
	b.body = append(b.body, `","transportEventTypeCode":"`...)
	b.body = append(b.body, m.code...)
	b.body = append(b.body, `","transportCall":{"modeOfTransport":"RAIL","UNLocationCode":"`...)
	b.body = append(b.body, loc...)
	b.body = append(b.body, `","rail":{"trainNumber":"X8001"}}}`...)
	return id
}

// uuid is a random (version 4) UUID from the generator's own source: faster than crypto/rand,
// and unique enough for one run's events.
func (g *generator) uuid() string {
	var u [16]byte
	a, b := g.rng.Uint64(), g.rng.Uint64()
	for i := range 8 {
		u[i], u[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
