package pgstore

import (
	"github.com/scodalabs/scoda/pkg/postgres"

	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
)

// Route is a corridor route with its stops in order.
type Route struct {
	Code        string
	Name        string
	TransitDays int // typical transit time, origin departure to destination arrival
	FEUCN       int // 40' slots per train on the Chinese section
	FEUAbroad   int // 40' slots per train beyond the first border
	Stops       []Stop
}

// Stop is one call of a route.
type Stop struct {
	Seq            int    // 0 is the origin
	UNLocationCode string // UN/LOCODE
	Name           string
	Country        string // ISO 3166-1 alpha-2
	Role           string // origin, port, transit, border, destination
	GaugeMM        int
	KmFromPrev     int           // great-circle distance from the previous stop; 0 at the origin
	Dwell          time.Duration // planned stay; 0 at the origin and the destination
	BreakOfGauge   bool          // gauge differs from the previous stop: boxes are reloaded here
}

// Planned dwell at a stop, by what happens there (origin and destination have none): reloading
// onto other wagons at a break of gauge, customs and hand-over at a border without one, a crew
// or locomotive change elsewhere.
const (
	DwellBreakOfGauge = 24 * time.Hour
	DwellBorder       = 6 * time.Hour
	DwellTransit      = 2 * time.Hour
)

// SeedNetwork upserts the network's routes and their stops. Running it again with the same
// network changes nothing; a route that lost stops has them removed. Routes no longer in the
// network are left alone (departures may still refer to them).
func (s *Store) SeedNetwork(ctx context.Context, n *corridor.Network) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		for _, r := range n.Routes() {
			if err := seedRoute(ctx, tx, n, r); err != nil {
				return fmt.Errorf("route %s: %w", r.Code, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: seed network: %w", err)
	}
	return nil
}

func seedRoute(ctx context.Context, tx pgx.Tx, n *corridor.Network, r corridor.Route) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO routes (code, name, transit_days, feu_cn, feu_abroad) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, transit_days = EXCLUDED.transit_days,
			feu_cn = EXCLUDED.feu_cn, feu_abroad = EXCLUDED.feu_abroad, updated_at = now()
		WHERE (routes.name, routes.transit_days, routes.feu_cn, routes.feu_abroad)
			IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.transit_days, EXCLUDED.feu_cn, EXCLUDED.feu_abroad)`,
		r.Code, r.Name, r.Days, r.FEUCN, r.FEUAbroad)
	if err != nil {
		return err
	}
	var prev corridor.Location
	for i, c := range r.Stops {
		loc, ok := n.Location(c)
		if !ok {
			return fmt.Errorf("stop %s is not a location of the network", c)
		}
		var km int
		bog := false
		if i > 0 {
			km = int(math.Round(geo.DistanceKm(prev.Point, loc.Point)))
			bog = loc.GaugeMM != prev.GaugeMM
		}
		dwell := stopDwell(i, len(r.Stops), bog, string(loc.Role))
		_, err := tx.Exec(ctx, `
			INSERT INTO route_stops (route_code, seq, un_location_code, name, country, role, gauge_mm,
				km_from_prev, dwell, break_of_gauge)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (route_code, seq) DO UPDATE SET un_location_code = EXCLUDED.un_location_code,
				name = EXCLUDED.name, country = EXCLUDED.country, role = EXCLUDED.role,
				gauge_mm = EXCLUDED.gauge_mm, km_from_prev = EXCLUDED.km_from_prev, dwell = EXCLUDED.dwell,
				break_of_gauge = EXCLUDED.break_of_gauge`,
			r.Code, i, string(loc.Code), loc.Name, loc.Country, string(loc.Role), loc.GaugeMM, km, dwell, bog)
		if err != nil {
			return fmt.Errorf("stop %d (%s): %w", i, c, err)
		}
		prev = loc
	}
	_, err = tx.Exec(ctx, `DELETE FROM route_stops WHERE route_code = $1 AND seq >= $2`, r.Code, len(r.Stops))
	return err
}

// stopDwell is the planned dwell at stop i of n.
func stopDwell(i, n int, breakOfGauge bool, role string) time.Duration {
	switch {
	case i == 0 || i == n-1:
		return 0
	case breakOfGauge:
		return DwellBreakOfGauge
	case role == string(corridor.RoleBorder):
		return DwellBorder
	default:
		return DwellTransit
	}
}

// Routes lists every route with its stops, by code.
func (s *Store) Routes(ctx context.Context) ([]Route, error) {
	routes, err := loadRoutes(ctx, s.db, "")
	if err != nil {
		return nil, fmt.Errorf("pgstore: routes: %w", err)
	}
	return routes, nil
}

// Route returns one route with its stops; apperr.ErrNotFound when there is none.
func (s *Store) Route(ctx context.Context, code string) (Route, error) {
	return route(ctx, s.db, code)
}

func route(ctx context.Context, db postgres.DB, code string) (Route, error) {
	routes, err := loadRoutes(ctx, db, code)
	if err != nil {
		return Route{}, fmt.Errorf("pgstore: route %s: %w", code, err)
	}
	if len(routes) == 0 {
		return Route{}, fmt.Errorf("pgstore: route %s: %w", code, apperr.ErrNotFound)
	}
	return routes[0], nil
}

// loadRoutes reads the routes (all when code is "") with their stops.
func loadRoutes(ctx context.Context, db postgres.DB, code string) ([]Route, error) {
	rows, err := db.Query(ctx, `
		SELECT r.code, r.name, r.transit_days, r.feu_cn, r.feu_abroad,
			s.seq, s.un_location_code, s.name, s.country, s.role, s.gauge_mm, s.km_from_prev, s.dwell, s.break_of_gauge
		FROM routes r JOIN route_stops s ON s.route_code = r.code
		WHERE $1 = '' OR r.code = $1
		ORDER BY r.code, s.seq`, code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Route
	for rows.Next() {
		var r Route
		var st Stop
		if err := rows.Scan(&r.Code, &r.Name, &r.TransitDays, &r.FEUCN, &r.FEUAbroad,
			&st.Seq, &st.UNLocationCode, &st.Name, &st.Country, &st.Role, &st.GaugeMM, &st.KmFromPrev,
			&st.Dwell, &st.BreakOfGauge); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Code != r.Code {
			out = append(out, r)
		}
		last := &out[len(out)-1]
		last.Stops = append(last.Stops, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range out {
		if len(r.Stops) < 2 {
			return nil, errors.New("route " + r.Code + " has fewer than two stops")
		}
	}
	return out, nil
}
