// Package geofence turns position fixes into milestones: a container whose
// positions enter or leave a corridor place (a terminal, a station, a port)
// gets a derived arrival or departure there, and one whose positions cross a
// break-of-gauge border gets a border-crossing arrival at the station on the
// far side.
//
// Fixes are often sparse (a tracker reporting every 20 minutes, or every few
// hours on a long run), so every test is on the path between two consecutive
// fixes, not only on the fixes: a train that passes a 1.5 km terminal fence
// between two fixes still arrives and departs, at times interpolated along
// the path.
//
// The path between two fixes is the shorter great-circle arc between them,
// travelled at constant speed. The geometry is done on the unit sphere (the
// same model as package geo), so it holds at any latitude and across the
// antimeridian.
package geofence

import (
	"math"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/unlocode"
)

// Default sizes. A fence is a circle around a corridor location's point
// (or a terminal's); its radius depends on what the place is.
const (
	// TerminalRadiusKm is the radius of a terminal's fence: a container
	// terminal or yard is a kilometre or two across.
	TerminalRadiusKm = 1.5
	// BorderRadiusKm is the radius of a border station's fence: the station
	// and its transshipment yards, small enough that the stations of a
	// border pair (8 to 40 km apart on this corridor) stay distinct.
	BorderRadiusKm = 5.0
	// PlaceRadiusKm is the radius of the fence of an origin, port, transit
	// or destination place: a city's rail terminals and port areas.
	PlaceRadiusKm = 10.0
	// BorderReachKm bounds where a border crossing counts: the path must
	// meet the approximated border within this distance of the midpoint of
	// the border pair (see Index.Transitions).
	BorderReachKm = 50.0
	// MaxSegmentKm is the longest path between two fixes that is trusted.
	// A longer one (more than a day of train travel) is a gap in the data:
	// the container may have gone anywhere in between, so no transition is
	// inferred from it. The next segment with plausible fixes carries on.
	MaxSegmentKm = 2000.0
)

// Fence is a circular geofence around a corridor place or terminal.
type Fence struct {
	// ID is stable and unique in the index: the UN/LOCODE for a place
	// ("CNHRS"), "<UN/LOCODE>:<SMDG code>" for a terminal ("CNQIN:QQCTN").
	// It is the GeofenceDerivation.geofence_id of events derived here.
	ID string
	// Code is the place's UN/LOCODE (the terminal's place for a terminal).
	Code unlocode.Code
	// Name is the place's or the terminal's name.
	Name string
	// Country is the ISO 3166-1 alpha-2 country code.
	Country string
	// Role is the place's role (for a terminal, its place's role).
	Role corridor.Role
	// Terminal is the terminal's SMDG code, empty for a place.
	Terminal string
	// Area is the fenced circle.
	Area geo.Circle
}

// Index holds the fences of the corridor and its border pairs. It is
// read-only once built and safe for concurrent use.
type Index struct {
	fences  []fence
	borders []border
	maxSeg  float64 // km
}

// fence is a Fence with what the geometry needs precomputed.
type fence struct {
	Fence
	c   vec     // unit vector of the center
	rho float64 // angular radius, radians
	// cos and sin of rho + margin, for the cheap rejection test
	cosR, sinR float64
}

// border is one direction of a border pair: a path from the From side to
// the To side crosses it. The border is approximated by the perpendicular
// bisector of the two stations: the great circle of points equidistant
// from both.
type border struct {
	crossing corridor.Crossing // oriented in the direction of travel
	entry    int               // index of the entry (To) station's fence
	normal   vec               // unit(From) - unit(To): dot > 0 on the From side
	mid      vec               // unit vector of the pair's midpoint
	reach    float64           // radians
}

type config struct {
	roleRadius     map[corridor.Role]float64
	terminalRadius float64
	borderReach    float64
	maxSegment     float64
}

// Option changes a size used by NewIndex. Values that are not finite and
// positive are ignored, so the defaults stay in force.
type Option func(*config)

// WithRoleRadius sets the fence radius, in km, of places with the given
// role (defaults: BorderRadiusKm for border stations, PlaceRadiusKm for
// the others).
func WithRoleRadius(role corridor.Role, km float64) Option {
	return func(c *config) {
		if positive(km) {
			c.roleRadius[role] = km
		}
	}
}

// WithTerminalRadius sets the fence radius of terminals, in km (default
// TerminalRadiusKm).
func WithTerminalRadius(km float64) Option {
	return func(c *config) {
		if positive(km) {
			c.terminalRadius = km
		}
	}
}

// WithBorderReach sets how far from a border pair's midpoint, in km, a path
// may meet the border and still count as crossing it (default
// BorderReachKm).
func WithBorderReach(km float64) Option {
	return func(c *config) {
		if positive(km) {
			c.borderReach = km
		}
	}
}

// WithMaxSegment sets the longest path between two fixes, in km, that
// transitions are inferred from (default MaxSegmentKm).
func WithMaxSegment(km float64) Option {
	return func(c *config) {
		if positive(km) {
			c.maxSegment = km
		}
	}
}

func positive(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

// NewIndex builds a fence for every location and terminal of the network,
// sized by role (see the constants and options), and both directions of
// every border crossing the network lists (corridor.Network.BorderCrossings:
// the breaks of gauge). A nil network gives an empty index.
func NewIndex(n *corridor.Network, opts ...Option) *Index {
	cfg := config{
		roleRadius: map[corridor.Role]float64{
			corridor.RoleOrigin:      PlaceRadiusKm,
			corridor.RolePort:        PlaceRadiusKm,
			corridor.RoleTransit:     PlaceRadiusKm,
			corridor.RoleBorder:      BorderRadiusKm,
			corridor.RoleDestination: PlaceRadiusKm,
		},
		terminalRadius: TerminalRadiusKm,
		borderReach:    BorderReachKm,
		maxSegment:     MaxSegmentKm,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ix := &Index{maxSeg: cfg.maxSegment}
	if n == nil {
		return ix
	}
	byCode := map[unlocode.Code]int{}
	for _, l := range n.Locations() {
		r, ok := cfg.roleRadius[l.Role]
		if !ok {
			r = PlaceRadiusKm
		}
		byCode[l.Code] = len(ix.fences)
		ix.add(Fence{ID: string(l.Code), Code: l.Code, Name: l.Name, Country: l.Country, Role: l.Role,
			Area: geo.Circle{Center: l.Point, RadiusKm: r}})
	}
	for _, t := range n.Terminals() {
		place, _ := n.Location(t.Location)
		ix.add(Fence{ID: string(t.Location) + ":" + t.Code, Code: t.Location, Name: t.Name, Country: place.Country,
			Role: place.Role, Terminal: t.Code, Area: geo.Circle{Center: t.Point, RadiusKm: cfg.terminalRadius}})
	}

	listed := map[[2]unlocode.Code]bool{}
	crossings := n.BorderCrossings()
	for _, c := range crossings {
		listed[[2]unlocode.Code{c.From, c.To}] = true
	}
	for _, c := range crossings {
		from, okFrom := byCode[c.From]
		to, okTo := byCode[c.To]
		if !okFrom || !okTo {
			continue
		}
		ix.addBorder(c, from, to, cfg.borderReach)
		if !listed[[2]unlocode.Code{c.To, c.From}] { // the way back
			back := corridor.Crossing{From: c.To, To: c.From, FromGaugeMM: c.ToGaugeMM, ToGaugeMM: c.FromGaugeMM,
				Routes: append([]string(nil), c.Routes...)}
			ix.addBorder(back, to, from, cfg.borderReach)
		}
	}
	return ix
}

func (ix *Index) add(f Fence) {
	rho := f.Area.RadiusKm / geo.EarthRadiusKm
	ix.fences = append(ix.fences, fence{Fence: f, c: unit(f.Area.Center), rho: rho,
		cosR: math.Cos(rho + margin), sinR: math.Sin(rho + margin)})
}

func (ix *Index) addBorder(c corridor.Crossing, from, to int, reachKm float64) {
	a, b := ix.fences[from].c, ix.fences[to].c
	ix.borders = append(ix.borders, border{
		crossing: c,
		entry:    to,
		normal:   sub(a, b),
		mid:      normalize(add(a, b)),
		reach:    reachKm / geo.EarthRadiusKm,
	})
}

// Fences returns every fence, places first (in corridor order), then
// terminals.
func (ix *Index) Fences() []Fence {
	out := make([]Fence, len(ix.fences))
	for i, f := range ix.fences {
		out[i] = f.Fence
	}
	return out
}

// Fence returns the fence with the given id.
func (ix *Index) Fence(id string) (Fence, bool) {
	for _, f := range ix.fences {
		if f.ID == id {
			return f.Fence, true
		}
	}
	return Fence{}, false
}

// BorderID is the id of the border between two stations of a pair,
// whichever the direction: "border:<code>-<code>" with the codes in
// lexical order ("border:CNHRS-KZHOR"). It is the geofence_id of derived
// border-crossing events.
func BorderID(a, b unlocode.Code) string {
	if b < a {
		a, b = b, a
	}
	return "border:" + string(a) + "-" + string(b)
}

// vec is a point on (or a vector in the space of) the unit sphere.
type vec [3]float64

func unit(p geo.Point) vec {
	lat, lon := p.Lat*math.Pi/180, p.Lon*math.Pi/180
	return vec{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
}

func dot(u, v vec) float64 { return u[0]*v[0] + u[1]*v[1] + u[2]*v[2] }
func add(u, v vec) vec     { return vec{u[0] + v[0], u[1] + v[1], u[2] + v[2]} }
func sub(u, v vec) vec     { return vec{u[0] - v[0], u[1] - v[1], u[2] - v[2]} }
func scale(k float64, v vec) vec {
	return vec{k * v[0], k * v[1], k * v[2]}
}
func norm(v vec) float64 { return math.Sqrt(dot(v, v)) }

func cross(u, v vec) vec {
	return vec{u[1]*v[2] - u[2]*v[1], u[2]*v[0] - u[0]*v[2], u[0]*v[1] - u[1]*v[0]}
}

// normalize returns v scaled to length 1, or v when it is (nearly) zero.
func normalize(v vec) vec {
	n := norm(v)
	if n < 1e-300 {
		return v
	}
	return scale(1/n, v)
}

// angle returns the angle between unit vectors u and v, in radians,
// accurate for small and large angles alike.
func angle(u, v vec) float64 {
	return math.Atan2(norm(cross(u, v)), dot(u, v))
}
