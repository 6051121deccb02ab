// Package corridor is the reference network of the SCODA corridor: the places
// (UN/LOCODE), the terminals inside them and the international train routes
// that leave the SCODA multimodal centre in Jiaozhou (Qingdao).
//
// The data is corridor.yaml, embedded in the binary; it is reference data this
// project owns (its header says where the facts come from). Load parses and
// validates it, so a bad edit fails the tests rather than a service at run
// time.
package corridor

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/unlocode"
)

//go:embed corridor.yaml
var corridorYAML []byte

// Role is what a place is on the corridor.
type Role string

// Roles of a place.
const (
	RoleOrigin      Role = "origin"      // where trains are formed (the SCODA centre)
	RolePort        Role = "port"        // sea port, for sea-rail legs
	RoleTransit     Role = "transit"     // a stop on the way
	RoleBorder      Role = "border"      // border station; gauge may change here
	RoleDestination Role = "destination" // where a route ends
)

func (r Role) valid() bool {
	switch r {
	case RoleOrigin, RolePort, RoleTransit, RoleBorder, RoleDestination:
		return true
	}
	return false
}

// Location is a place on the corridor.
type Location struct {
	Code    unlocode.Code   // canonical UN/LOCODE
	Name    string          // e.g. "Jiaozhou (SCODA multimodal centre)"
	Country string          // ISO 3166-1 alpha-2, same as Code.Country()
	Role    Role            // origin, port, transit, border or destination
	Point   geo.Point       // station or port position
	GaugeMM int             // rail gauge on this side, in mm (1435, 1520, 1000)
	Approx  bool            // Point was geocoded, not published by UNECE
	Aliases []unlocode.Code // superseded codes carriers still send (CNTAO)
}

// Terminal is a terminal inside a place (SMDG terminal code), used on
// sea-rail legs.
type Terminal struct {
	Code     string        // SMDG terminal code, e.g. "QQCTN"
	Location unlocode.Code // the place it belongs to
	Name     string
	Point    geo.Point
}

// Route is an international train route.
type Route struct {
	Code      string          // e.g. "SCO-KZ-ALA"
	Name      string          // e.g. "Central Asia: Almaty"
	Stops     []unlocode.Code // the places a train calls at, in order
	Days      int             // typical transit time, in days
	FEUCN     int             // train capacity in 40-foot units on the Chinese section
	FEUAbroad int             // train capacity beyond the first border
}

// Crossing is a break of gauge: two consecutive stops of a route whose rail
// gauges differ, where containers are moved onto other wagons.
type Crossing struct {
	From, To    unlocode.Code
	FromGaugeMM int
	ToGaugeMM   int
	Routes      []string // codes of the routes that cross here, in file order
}

// Network is the loaded corridor. It is read-only: its methods return
// copies, so callers may keep and change what they get.
type Network struct {
	locations []Location
	byCode    map[unlocode.Code]int // location code or alias -> index
	terminals []Terminal
	routes    []Route
	byRoute   map[string]int
	crossings []Crossing
}

// Load parses and validates the embedded corridor.yaml. Every call parses
// afresh and returns a new Network.
func Load() (*Network, error) {
	return parse(corridorYAML)
}

// The file's shape. Pointers mark fields that must be present even when
// their zero value would be valid (a latitude of 0).
type file struct {
	Locations []fileLocation `yaml:"locations"`
	Terminals []fileTerminal `yaml:"terminals"`
	Routes    []fileRoute    `yaml:"routes"`
}

type fileLocation struct {
	Code    string   `yaml:"code"`
	Name    string   `yaml:"name"`
	Country string   `yaml:"country"`
	Role    string   `yaml:"role"`
	Lat     *float64 `yaml:"lat"`
	Lon     *float64 `yaml:"lon"`
	Gauge   int      `yaml:"gauge"`
	Approx  bool     `yaml:"approx"`
	Aliases []string `yaml:"aliases"`
}

type fileTerminal struct {
	Code     string   `yaml:"code"`
	Location string   `yaml:"location"`
	Name     string   `yaml:"name"`
	Lat      *float64 `yaml:"lat"`
	Lon      *float64 `yaml:"lon"`
}

type fileRoute struct {
	Code      string   `yaml:"code"`
	Name      string   `yaml:"name"`
	Stops     []string `yaml:"stops"`
	Days      int      `yaml:"days"`
	FEUCN     int      `yaml:"feu_cn"`
	FEUAbroad int      `yaml:"feu_abroad"`
}

// parse decodes data strictly (unknown fields and duplicate keys are errors)
// and validates it, reporting every problem found.
func parse(data []byte) (*Network, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("corridor: decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("corridor: decode: more than one YAML document")
	}
	n, errs := build(&f)
	if len(errs) > 0 {
		return nil, fmt.Errorf("corridor: invalid data: %w", errors.Join(errs...))
	}
	return n, nil
}

// code parses a code the file must write in canonical form (not an alias,
// no space, upper case).
func code(s string) (unlocode.Code, error) {
	c, alias, err := unlocode.Canonical(s)
	switch {
	case err != nil:
		return "", err
	case alias:
		return "", fmt.Errorf("%s is an alias of %s; use %s", s, c, c)
	case string(c) != s:
		return "", fmt.Errorf("%q is not in canonical form %s", s, c)
	}
	return c, nil
}

func point(lat, lon *float64) (geo.Point, error) {
	if lat == nil || lon == nil {
		return geo.Point{}, errors.New("lat and lon are required")
	}
	return geo.NewPoint(*lat, *lon)
}

func build(f *file) (*Network, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	n := &Network{byCode: map[unlocode.Code]int{}, byRoute: map[string]int{}}

	for i, fl := range f.Locations {
		where := fmt.Sprintf("location %d (%s)", i+1, fl.Code)
		c, err := code(fl.Code)
		if err != nil {
			bad("%s: %w", where, err)
			continue
		}
		if _, dup := n.byCode[c]; dup {
			bad("%s: code used twice", where)
			continue
		}
		loc := Location{Code: c, Name: fl.Name, Country: fl.Country, Role: Role(fl.Role), GaugeMM: fl.Gauge, Approx: fl.Approx}
		if loc.Name == "" {
			bad("%s: name is required", where)
		}
		if loc.Country != c.Country() {
			bad("%s: country %q does not match the code's %q", where, loc.Country, c.Country())
		}
		if !loc.Role.valid() {
			bad("%s: role %q is not one of origin, port, transit, border, destination", where, fl.Role)
		}
		if loc.Point, err = point(fl.Lat, fl.Lon); err != nil {
			bad("%s: %w", where, err)
		}
		if loc.GaugeMM <= 0 {
			bad("%s: gauge (mm) is required", where)
		}
		n.byCode[c] = len(n.locations)
		n.locations = append(n.locations, loc)
	}
	// Aliases after all codes are known, so an alias cannot shadow a location.
	// They must be exactly the keys of unlocode's alias table that lead here.
	aliasTable := unlocode.Aliases()
	for i, fl := range f.Locations {
		idx, ok := n.byCode[unlocode.Code(fl.Code)]
		if !ok || n.locations[idx].Code != unlocode.Code(fl.Code) {
			continue // already reported
		}
		for _, a := range fl.Aliases {
			where := fmt.Sprintf("location %d (%s): alias %s", i+1, fl.Code, a)
			to, ok := aliasTable[unlocode.Code(a)]
			switch {
			case !ok:
				bad("%s: not in the unlocode alias table (edition %s)", where, unlocode.Edition)
			case to != n.locations[idx].Code:
				bad("%s: unlocode resolves it to %s", where, to)
			default:
				if _, taken := n.byCode[unlocode.Code(a)]; taken {
					bad("%s: already a location code or alias", where)
					continue
				}
				n.byCode[unlocode.Code(a)] = idx
				n.locations[idx].Aliases = append(n.locations[idx].Aliases, unlocode.Code(a))
			}
		}
	}

	seenTerminal := map[string]bool{}
	for i, ft := range f.Terminals {
		where := fmt.Sprintf("terminal %d (%s)", i+1, ft.Code)
		if ft.Code == "" || seenTerminal[ft.Code] {
			bad("%s: code is empty or used twice", where)
			continue
		}
		seenTerminal[ft.Code] = true
		t := Terminal{Code: ft.Code, Name: ft.Name}
		c, err := code(ft.Location)
		if err != nil {
			bad("%s: location: %w", where, err)
		} else if _, ok := n.byCode[c]; !ok {
			bad("%s: location %s is not in locations", where, c)
		}
		t.Location = c
		if t.Name == "" {
			bad("%s: name is required", where)
		}
		if t.Point, err = point(ft.Lat, ft.Lon); err != nil {
			bad("%s: %w", where, err)
		}
		n.terminals = append(n.terminals, t)
	}

	for i, fr := range f.Routes {
		where := fmt.Sprintf("route %d (%s)", i+1, fr.Code)
		if fr.Code == "" {
			bad("%s: code is required", where)
			continue
		}
		if _, dup := n.byRoute[fr.Code]; dup {
			bad("%s: code used twice", where)
			continue
		}
		r := Route{Code: fr.Code, Name: fr.Name, Days: fr.Days, FEUCN: fr.FEUCN, FEUAbroad: fr.FEUAbroad}
		if r.Name == "" {
			bad("%s: name is required", where)
		}
		if r.Days <= 0 || r.FEUCN <= 0 || r.FEUAbroad <= 0 {
			bad("%s: days, feu_cn and feu_abroad must be positive", where)
		}
		if len(fr.Stops) < 2 {
			bad("%s: needs at least 2 stops, has %d", where, len(fr.Stops))
		}
		stopsOK := true
		onRoute := map[unlocode.Code]bool{}
		for _, s := range fr.Stops {
			c, err := code(s)
			if err != nil {
				bad("%s: stop: %w", where, err)
				stopsOK = false
				continue
			}
			if _, ok := n.byCode[c]; !ok {
				bad("%s: stop %s is not in locations", where, c)
				stopsOK = false
				continue
			}
			if onRoute[c] {
				bad("%s: stop %s appears twice", where, c)
				stopsOK = false
			}
			onRoute[c] = true
			r.Stops = append(r.Stops, c)
		}
		if stopsOK {
			for j := 1; j < len(r.Stops); j++ {
				from, to := n.locations[n.byCode[r.Stops[j-1]]], n.locations[n.byCode[r.Stops[j]]]
				if from.GaugeMM == to.GaugeMM {
					continue
				}
				// Gauge changes only at a border: the pair must be in two
				// countries and one of them a border station.
				if from.Country == to.Country || (from.Role != RoleBorder && to.Role != RoleBorder) {
					bad("%s: gauge changes from %d to %d mm between %s and %s, which is not a border pair",
						where, from.GaugeMM, to.GaugeMM, from.Code, to.Code)
				}
			}
		}
		n.byRoute[r.Code] = len(n.routes)
		n.routes = append(n.routes, r)
	}
	if len(errs) == 0 {
		n.crossings = n.findCrossings()
	}
	return n, errs
}

// findCrossings lists each pair of consecutive stops with a change of gauge
// once, in the order routes first reach it.
func (n *Network) findCrossings() []Crossing {
	var out []Crossing
	index := map[[2]unlocode.Code]int{}
	for _, r := range n.routes {
		for j := 1; j < len(r.Stops); j++ {
			from, to := n.locations[n.byCode[r.Stops[j-1]]], n.locations[n.byCode[r.Stops[j]]]
			if from.GaugeMM == to.GaugeMM {
				continue
			}
			key := [2]unlocode.Code{from.Code, to.Code}
			i, ok := index[key]
			if !ok {
				i = len(out)
				index[key] = i
				out = append(out, Crossing{From: from.Code, To: to.Code, FromGaugeMM: from.GaugeMM, ToGaugeMM: to.GaugeMM})
			}
			out[i].Routes = append(out[i].Routes, r.Code)
		}
	}
	return out
}

// Location returns the place with the given code, also when code is one of
// its aliases (CNTAO gives Qingdao, CNQIN).
func (n *Network) Location(code unlocode.Code) (Location, bool) {
	i, ok := n.byCode[code]
	if !ok {
		return Location{}, false
	}
	return n.locations[i].clone(), true
}

// Locations returns every place, in file order.
func (n *Network) Locations() []Location {
	out := make([]Location, len(n.locations))
	for i, l := range n.locations {
		out[i] = l.clone()
	}
	return out
}

// Terminals returns every terminal, in file order.
func (n *Network) Terminals() []Terminal {
	return append([]Terminal(nil), n.terminals...)
}

// Route returns the route with the given code, e.g. "SCO-KZ-ALA".
func (n *Network) Route(code string) (Route, bool) {
	i, ok := n.byRoute[code]
	if !ok {
		return Route{}, false
	}
	return n.routes[i].clone(), true
}

// Routes returns every route, in file order.
func (n *Network) Routes() []Route {
	out := make([]Route, len(n.routes))
	for i, r := range n.routes {
		out[i] = r.clone()
	}
	return out
}

// BorderCrossings returns every break of gauge on the network: each pair of
// consecutive route stops whose gauges differ (1,435 <-> 1,520 mm at
// Alashankou/Dostyk, Khorgos, Erenhot/Zamyn-Uud, Manzhouli/Zabaikalsk and
// Brest/Malaszewicze; 1,435 -> 1,000 mm from Pingxiang to Hanoi), once per
// direction, with the routes that use it. A border with the same gauge on
// both sides (Mohan/Boten on the China-Laos railway) is not a break of gauge
// and is not listed.
func (n *Network) BorderCrossings() []Crossing {
	out := make([]Crossing, len(n.crossings))
	for i, c := range n.crossings {
		c.Routes = append([]string(nil), c.Routes...)
		out[i] = c
	}
	return out
}

func (l Location) clone() Location {
	l.Aliases = append([]unlocode.Code(nil), l.Aliases...)
	return l
}

func (r Route) clone() Route {
	r.Stops = append([]unlocode.Code(nil), r.Stops...)
	return r
}
