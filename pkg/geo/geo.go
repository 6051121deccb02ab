// Package geo holds WGS 84 positions, great-circle distances and bearings, and
// circular geofences.
//
// Distances use a spherical Earth of mean radius EarthRadiusKm, which is within
// about 0.5% of the ellipsoidal distance: good enough for tracking and ETAs,
// not for surveying.
package geo

import (
	"fmt"
	"math"
)

// EarthRadiusKm is the mean Earth radius (IUGG R1) used for all distances.
const EarthRadiusKm = 6371.0088

// Point is a WGS 84 position in decimal degrees. Build one with NewPoint to
// have it checked; the zero Point is 0°N 0°E, a valid position.
type Point struct {
	Lat float64 // latitude, -90 (south) to 90 (north)
	Lon float64 // longitude, -180 (west) to 180 (east)
}

// FieldError reports an invalid field. Field is the name a client sent
// ("lat", "lon", "radius_km"); Reason is a short phrase fit to show them.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "geo: " + e.Field + ": " + e.Reason }

// NewPoint returns the point at lat, lon, or a *FieldError naming the field
// ("lat" or "lon") that is not finite or is out of range. Latitude must be in
// [-90, 90] and longitude in [-180, 180].
func NewPoint(lat, lon float64) (Point, error) {
	p := Point{Lat: lat, Lon: lon}
	if err := p.Validate(); err != nil {
		return Point{}, err
	}
	return p, nil
}

// Validate returns a *FieldError if p is not a valid position (see NewPoint).
func (p Point) Validate() error {
	if err := checkRange("lat", p.Lat, 90); err != nil {
		return err
	}
	return checkRange("lon", p.Lon, 180)
}

func checkRange(field string, v, limit float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return &FieldError{Field: field, Reason: "must be a finite number"}
	}
	if v < -limit || v > limit {
		return &FieldError{Field: field, Reason: fmt.Sprintf("must be between %g and %g, got %g", -limit, limit, v)}
	}
	return nil
}

// String formats p as "lat,lon" with 6 decimals (about 0.1 m).
func (p Point) String() string { return fmt.Sprintf("%.6f,%.6f", p.Lat, p.Lon) }

func rad(deg float64) float64 { return deg * math.Pi / 180 }
func deg(rad float64) float64 { return rad * 180 / math.Pi }

// DistanceKm returns the great-circle distance between a and b in kilometres
// (haversine formula, radius EarthRadiusKm).
func DistanceKm(a, b Point) float64 {
	lat1, lat2 := rad(a.Lat), rad(b.Lat)
	dLat := lat2 - lat1
	dLon := rad(b.Lon - a.Lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	h = math.Min(1, math.Max(0, h)) // rounding can push h just outside [0, 1]
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(h))
}

// InitialBearingDeg returns the initial bearing (forward azimuth) of the great
// circle from a to b, in degrees clockwise from true north, in [0, 360).
// It returns 0 when a and b are the same point.
func InitialBearingDeg(a, b Point) float64 {
	lat1, lat2 := rad(a.Lat), rad(b.Lat)
	dLon := rad(b.Lon - a.Lon)
	y := math.Sin(dLon) * math.Cos(lat2)
	x := math.Cos(lat1)*math.Sin(lat2) - math.Sin(lat1)*math.Cos(lat2)*math.Cos(dLon)
	brg := math.Mod(deg(math.Atan2(y, x))+360, 360)
	if brg >= 360 { // -tiny + 360 rounds to 360
		brg = 0
	}
	return brg
}

// Circle is a circular geofence: the points within RadiusKm of Center
// (great-circle distance). Build one with NewCircle to have it checked.
type Circle struct {
	Center   Point
	RadiusKm float64
}

// NewCircle returns a geofence, or a *FieldError if the center is not a valid
// point or the radius is negative or not finite.
func NewCircle(center Point, radiusKm float64) (Circle, error) {
	if err := center.Validate(); err != nil {
		return Circle{}, err
	}
	if math.IsNaN(radiusKm) || math.IsInf(radiusKm, 0) || radiusKm < 0 {
		return Circle{}, &FieldError{Field: "radius_km", Reason: "must be a finite number >= 0"}
	}
	return Circle{Center: center, RadiusKm: radiusKm}, nil
}

// Contains reports whether p lies within the circle, boundary included.
func (c Circle) Contains(p Point) bool {
	return DistanceKm(c.Center, p) <= c.RadiusKm
}

// SegmentIntersects reports whether the path between two consecutive fixes a
// and b passes within the circle, including when both fixes are outside it:
// a train reporting every 20 minutes can cross a 2 km border-station fence
// between two fixes.
//
// The path is taken as the shorter great-circle arc from a to b, and the test
// is exact on the sphere (cross-track distance from the center, then whether
// the closest point of the great circle lies on the arc), so it holds for
// segments of any length and across the antimeridian. Antipodal fixes have no
// single shortest path; only their endpoints are tested.
func (c Circle) SegmentIntersects(a, b Point) bool {
	if c.Contains(a) || c.Contains(b) {
		return true
	}
	va, vb, vc := unit(a), unit(b), unit(c.Center)
	n := cross(va, vb) // normal of the great circle through a and b
	nn := math.Sqrt(dot(n, n))
	if nn < 1e-12 { // a and b coincide or are antipodal
		return false
	}
	n = vec{n[0] / nn, n[1] / nn, n[2] / nn}
	sinXT := dot(vc, n) // sine of the center's angular distance from the great circle
	if EarthRadiusKm*math.Asin(math.Min(1, math.Abs(sinXT))) > c.RadiusKm {
		return false
	}
	// The closest point of the great circle to the center: vc minus its
	// normal component. It must lie between a and b on the arc.
	p := vec{vc[0] - sinXT*n[0], vc[1] - sinXT*n[1], vc[2] - sinXT*n[2]}
	return dot(cross(va, p), n) >= 0 && dot(cross(p, vb), n) >= 0
}

type vec [3]float64

func unit(p Point) vec {
	lat, lon := rad(p.Lat), rad(p.Lon)
	return vec{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
}

func dot(u, v vec) float64 { return u[0]*v[0] + u[1]*v[1] + u[2]*v[2] }

func cross(u, v vec) vec {
	return vec{u[1]*v[2] - u[2]*v[1], u[2]*v[0] - u[0]*v[2], u[0]*v[1] - u[1]*v[0]}
}
