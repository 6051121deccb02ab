package geo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Corridor places (coordinates from pkg/corridor/corridor.yaml).
var (
	jiaozhou   = Point{36.283, 120.000}
	qingdao    = Point{36.050, 120.317}
	almaty     = Point{43.250, 76.950}
	alashankou = Point{45.183, 82.433}
	dostyk     = Point{45.250, 82.483}
	duisburg   = Point{51.467, 6.750}
	vorsino    = Point{55.217, 36.633}
	brest      = Point{52.094, 23.685}
	malaszew   = Point{52.033, 23.517}
)

func TestNewPoint(t *testing.T) {
	tests := []struct {
		name      string
		lat, lon  float64
		wantField string // "" means valid
	}{
		{name: "jiaozhou", lat: 36.283, lon: 120},
		{name: "origin", lat: 0, lon: 0},
		{name: "north pole", lat: 90, lon: 0},
		{name: "south pole", lat: -90, lon: 0},
		{name: "antimeridian east", lat: 0, lon: 180},
		{name: "antimeridian west", lat: 0, lon: -180},
		{name: "lat too big", lat: 90.0001, lon: 0, wantField: "lat"},
		{name: "lat too small", lat: -91, lon: 0, wantField: "lat"},
		{name: "lon too big", lat: 0, lon: 180.5, wantField: "lon"},
		{name: "lon too small", lat: 0, lon: -181, wantField: "lon"},
		{name: "lat NaN", lat: math.NaN(), lon: 0, wantField: "lat"},
		{name: "lon NaN", lat: 0, lon: math.NaN(), wantField: "lon"},
		{name: "lat +Inf", lat: math.Inf(1), lon: 0, wantField: "lat"},
		{name: "lon -Inf", lat: 0, lon: math.Inf(-1), wantField: "lon"},
		{name: "swapped lat/lon", lat: 120, lon: 36, wantField: "lat"},
		{name: "both bad reports lat", lat: 100, lon: 200, wantField: "lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPoint(tt.lat, tt.lon)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("NewPoint(%v, %v) error: %v", tt.lat, tt.lon, err)
				}
				if p.Lat != tt.lat || p.Lon != tt.lon {
					t.Fatalf("NewPoint = %v", p)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || fe.Reason == "" {
				t.Fatalf("NewPoint(%v, %v) error = %v, want *FieldError on %q", tt.lat, tt.lon, err, tt.wantField)
			}
			if p != (Point{}) {
				t.Errorf("NewPoint returned %v with an error", p)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	_, err := NewPoint(91, 0)
	if want := "geo: lat: must be between -90 and 90, got 91"; err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
	_, err = NewPoint(0, math.NaN())
	if want := "geo: lon: must be a finite number"; err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
}

func TestDistanceKm(t *testing.T) {
	// Expected values computed independently (vector form of the spherical
	// law of cosines, same radius); tol covers rounding only.
	tests := []struct {
		name string
		a, b Point
		want float64
		tol  float64
	}{
		{name: "same point", a: jiaozhou, b: jiaozhou, want: 0, tol: 1e-9},
		{name: "Alashankou-Dostyk", a: alashankou, b: dostyk, want: 8.417, tol: 0.001},
		{name: "Jiaozhou-Qingdao", a: jiaozhou, b: qingdao, want: 38.484, tol: 0.001},
		{name: "Jiaozhou-Almaty", a: jiaozhou, b: almaty, want: 3717.560, tol: 0.01},
		{name: "Jiaozhou-Vorsino", a: jiaozhou, b: vorsino, want: 6379.708, tol: 0.01},
		{name: "Jiaozhou-Duisburg", a: jiaozhou, b: duisburg, want: 8300.912, tol: 0.01},
		{name: "Brest-Malaszewicze", a: brest, b: malaszew, want: 13.338, tol: 0.001},
		{name: "one degree of latitude", a: Point{0, 0}, b: Point{1, 0}, want: EarthRadiusKm * math.Pi / 180, tol: 1e-9},
		{name: "across the antimeridian", a: Point{0, 179.5}, b: Point{0, -179.5}, want: EarthRadiusKm * math.Pi / 180, tol: 1e-6},
		{name: "antipodes", a: Point{0, 0}, b: Point{0, 180}, want: EarthRadiusKm * math.Pi, tol: 1e-6},
		{name: "pole to pole", a: Point{90, 0}, b: Point{-90, 0}, want: EarthRadiusKm * math.Pi, tol: 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DistanceKm(tt.a, tt.b)
			if math.Abs(got-tt.want) > tt.tol {
				t.Errorf("DistanceKm = %.4f, want %.4f ± %g", got, tt.want, tt.tol)
			}
			if back := DistanceKm(tt.b, tt.a); math.Abs(back-got) > 1e-9 {
				t.Errorf("not symmetric: %.6f vs %.6f", got, back)
			}
		})
	}
}

func TestInitialBearingDeg(t *testing.T) {
	tests := []struct {
		name string
		a, b Point
		want float64
	}{
		{name: "north", a: Point{0, 0}, b: Point{1, 0}, want: 0},
		{name: "east", a: Point{0, 0}, b: Point{0, 1}, want: 90},
		{name: "south", a: Point{1, 0}, b: Point{0, 0}, want: 180},
		{name: "west", a: Point{0, 1}, b: Point{0, 0}, want: 270},
		{name: "east across antimeridian", a: Point{0, 179.5}, b: Point{0, -179.5}, want: 90},
		{name: "same point", a: jiaozhou, b: jiaozhou, want: 0},
		{name: "Jiaozhou to Almaty, west-north-west", a: jiaozhou, b: almaty, want: 295.518},
		{name: "Alashankou to Dostyk, north-north-east", a: alashankou, b: dostyk, want: 27.713},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := InitialBearingDeg(tt.a, tt.b)
			if math.Abs(got-tt.want) > 0.001 {
				t.Errorf("InitialBearingDeg = %.4f, want %.4f", got, tt.want)
			}
			if got < 0 || got >= 360 {
				t.Errorf("InitialBearingDeg = %v, outside [0, 360)", got)
			}
		})
	}
}

func TestNewCircle(t *testing.T) {
	tests := []struct {
		name      string
		center    Point
		radius    float64
		wantField string
	}{
		{name: "ok", center: alashankou, radius: 2},
		{name: "zero radius", center: alashankou, radius: 0},
		{name: "negative radius", center: alashankou, radius: -1, wantField: "radius_km"},
		{name: "NaN radius", center: alashankou, radius: math.NaN(), wantField: "radius_km"},
		{name: "infinite radius", center: alashankou, radius: math.Inf(1), wantField: "radius_km"},
		{name: "bad center", center: Point{95, 0}, radius: 1, wantField: "lat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCircle(tt.center, tt.radius)
			if tt.wantField == "" {
				if err != nil || c.Center != tt.center || c.RadiusKm != tt.radius {
					t.Fatalf("NewCircle = %v, %v", c, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("NewCircle error = %v, want *FieldError on %q", err, tt.wantField)
			}
		})
	}
}

func TestCircleContains(t *testing.T) {
	fence := Circle{Center: alashankou, RadiusKm: 5}
	tests := []struct {
		name string
		p    Point
		want bool
	}{
		{name: "center", p: alashankou, want: true},
		{name: "Dostyk is 8.4 km away", p: dostyk, want: false},
		{name: "inside", p: Point{45.2, 82.45}, want: true},
		{name: "far away", p: almaty, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fence.Contains(tt.p); got != tt.want {
				t.Errorf("Contains(%v) = %v, want %v (distance %.3f km)", tt.p, got, tt.want, DistanceKm(alashankou, tt.p))
			}
		})
	}
	edge := Circle{Center: alashankou, RadiusKm: DistanceKm(alashankou, dostyk)}
	if !edge.Contains(dostyk) {
		t.Error("boundary point not contained")
	}
}

func TestSegmentIntersects(t *testing.T) {
	// A 2 km fence around the Alashankou border station.
	fence := Circle{Center: alashankou, RadiusKm: 2}
	// 1 km and 3 km north/south/east/west of the fence center.
	km := 1 / (EarthRadiusKm * math.Pi / 180) // degrees of latitude per km
	kmLon := km / math.Cos(alashankou.Lat*math.Pi/180)
	at := func(northKm, eastKm float64) Point {
		return Point{alashankou.Lat + northKm*km, alashankou.Lon + eastKm*kmLon}
	}
	tests := []struct {
		name string
		c    Circle
		a, b Point
		want bool
	}{
		{name: "both fixes outside, path through the center", c: fence, a: at(0, -30), b: at(0, 30), want: true},
		{name: "both fixes outside, path 1 km off center", c: fence, a: at(1, -30), b: at(1, 30), want: true},
		{name: "both fixes outside, path 3 km off center", c: fence, a: at(3, -30), b: at(3, 30), want: false},
		{name: "diagonal path through the fence", c: fence, a: at(-20, -20), b: at(20, 20), want: true},
		{name: "segment ends before the fence", c: fence, a: at(0, -30), b: at(0, -5), want: false},
		{name: "segment pointing away", c: fence, a: at(0, 5), b: at(0, 30), want: false},
		{name: "first fix inside", c: fence, a: at(0, 1), b: at(0, 50), want: true},
		{name: "second fix inside", c: fence, a: at(0, -50), b: at(1, 0), want: true},
		{name: "zero-length segment outside", c: fence, a: at(3, 0), b: at(3, 0), want: false},
		{name: "zero-length segment inside", c: fence, a: at(1, 0), b: at(1, 0), want: true},
		{name: "Alashankou to Dostyk passes a fence midway", c: Circle{Center: Point{45.2165, 82.458}, RadiusKm: 0.5}, a: alashankou, b: dostyk, want: true},
		{name: "Alashankou to Dostyk misses a fence 3 km east", c: Circle{Center: Point{45.2165, 82.458 + 3*kmLon}, RadiusKm: 0.5}, a: alashankou, b: dostyk, want: false},
		{name: "across the antimeridian", c: Circle{Center: Point{0, 180}, RadiusKm: 2}, a: Point{0, 179.8}, b: Point{0, -179.8}, want: true},
		{name: "across the antimeridian, fence elsewhere", c: Circle{Center: Point{0, 0}, RadiusKm: 2}, a: Point{0, 179.8}, b: Point{0, -179.8}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.SegmentIntersects(tt.a, tt.b); got != tt.want {
				t.Errorf("SegmentIntersects(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := tt.c.SegmentIntersects(tt.b, tt.a); got != tt.want {
				t.Errorf("reversed: SegmentIntersects(%v, %v) = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestPointString(t *testing.T) {
	if got, want := alashankou.String(), "45.183000,82.433000"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func ExampleDistanceKm() {
	alashankou, _ := NewPoint(45.183, 82.433)
	dostyk, _ := NewPoint(45.250, 82.483)
	fmt.Printf("%.1f km, bearing %.0f°\n", DistanceKm(alashankou, dostyk), InitialBearingDeg(alashankou, dostyk))
	// Output:
	// 8.4 km, bearing 28°
}

func ExampleCircle_SegmentIntersects() {
	station, _ := NewPoint(45.2165, 82.458) // midway between Alashankou and Dostyk
	fence, _ := NewCircle(station, 0.5)
	before, _ := NewPoint(45.183, 82.433)
	after, _ := NewPoint(45.250, 82.483)
	fmt.Println(fence.Contains(before), fence.Contains(after), fence.SegmentIntersects(before, after))
	// Output:
	// false false true
}

func ExampleNewPoint() {
	_, err := NewPoint(120.0, 36.283) // lat and lon swapped
	var fe *FieldError
	if errors.As(err, &fe) {
		fmt.Println(fe.Field, fe.Reason)
	}
	// Output:
	// lat must be between -90 and 90, got 120
}

// bruteMinDistanceKm samples the shorter great-circle arc from a to b densely
// and returns the smallest distance to c.
func bruteMinDistanceKm(c, a, b Point, steps int) float64 {
	va, vb := unit(a), unit(b)
	omega := math.Acos(math.Max(-1, math.Min(1, dot(va, vb))))
	best := math.Min(DistanceKm(c, a), DistanceKm(c, b))
	if omega < 1e-12 {
		return best
	}
	for i := 1; i < steps; i++ {
		f := float64(i) / float64(steps)
		s1, s2 := math.Sin((1-f)*omega)/math.Sin(omega), math.Sin(f*omega)/math.Sin(omega)
		v := vec{s1*va[0] + s2*vb[0], s1*va[1] + s2*vb[1], s1*va[2] + s2*vb[2]}
		p := Point{Lat: deg(math.Asin(v[2])), Lon: deg(math.Atan2(v[1], v[0]))}
		best = math.Min(best, DistanceKm(c, p))
	}
	return best
}

func TestSegmentIntersectsAgainstSampling(t *testing.T) {
	// Segments from 1 to 800 km anywhere below 80° latitude, fences of 0.5 to
	// 20 km near the segment: the exact test must agree with dense sampling
	// wherever the sampled distance is not within the sampling error of the
	// radius.
	rng := rand.New(rand.NewPCG(6346, 2024))
	for i := 0; i < 1000; i++ {
		a := Point{Lat: rng.Float64()*160 - 80, Lon: rng.Float64()*360 - 180}
		lengthKm := 1 + rng.Float64()*799
		b := destination(a, rng.Float64()*360, lengthKm)
		mid := destination(a, InitialBearingDeg(a, b), lengthKm*rng.Float64())
		c := Circle{Center: destination(mid, rng.Float64()*360, rng.Float64()*30), RadiusKm: 0.5 + rng.Float64()*19.5}
		steps := 2000
		min := bruteMinDistanceKm(c.Center, a, b, steps)
		sampleErr := lengthKm / float64(steps) // the closest sample is at most one step away
		if math.Abs(min-c.RadiusKm) <= sampleErr {
			continue
		}
		if got, want := c.SegmentIntersects(a, b), min <= c.RadiusKm; got != want {
			t.Fatalf("case %d: SegmentIntersects(%v, %v) around %v r=%.3f = %v; sampled min distance %.4f km",
				i, a, b, c.Center, c.RadiusKm, got, min)
		}
	}
}

// destination returns the point distKm from p along initial bearing brgDeg.
func destination(p Point, brgDeg, distKm float64) Point {
	d := distKm / EarthRadiusKm
	lat1, lon1, brg := rad(p.Lat), rad(p.Lon), rad(brgDeg)
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(brg))
	lon2 := lon1 + math.Atan2(math.Sin(brg)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
	return Point{Lat: deg(lat2), Lon: wrapLon180(deg(lon2))}
}

func wrapLon180(d float64) float64 {
	d = math.Mod(d+180, 360)
	if d < 0 {
		d += 360
	}
	return d - 180
}

func FuzzGeo(f *testing.F) {
	f.Add(45.183, 82.433, 45.250, 82.483, 45.2165, 82.458, 0.5)
	f.Add(0.0, 179.8, 0.0, -179.8, 0.0, 180.0, 2.0)
	f.Add(90.0, 0.0, -90.0, 0.0, 0.0, 0.0, 1.0)
	f.Add(math.NaN(), 0.0, 0.0, math.Inf(1), 0.0, 0.0, -1.0)
	f.Fuzz(func(t *testing.T, lat1, lon1, lat2, lon2, clat, clon, r float64) {
		a, errA := NewPoint(lat1, lon1)
		b, errB := NewPoint(lat2, lon2)
		center, errC := NewPoint(clat, clon)
		if errA != nil || errB != nil || errC != nil {
			for _, err := range []error{errA, errB, errC} {
				var fe *FieldError
				if err != nil && (!errors.As(err, &fe) || (fe.Field != "lat" && fe.Field != "lon")) {
					t.Fatalf("NewPoint error %v is not a *FieldError on lat/lon", err)
				}
			}
			return
		}
		d := DistanceKm(a, b)
		if math.IsNaN(d) || d < 0 || d > EarthRadiusKm*math.Pi+1e-6 {
			t.Fatalf("DistanceKm(%v, %v) = %v", a, b, d)
		}
		if brg := InitialBearingDeg(a, b); math.IsNaN(brg) || brg < 0 || brg >= 360 {
			t.Fatalf("InitialBearingDeg(%v, %v) = %v", a, b, brg)
		}
		c, err := NewCircle(center, r)
		if err != nil {
			return
		}
		got := c.SegmentIntersects(a, b)
		if (c.Contains(a) || c.Contains(b)) && !got {
			t.Fatalf("SegmentIntersects false although an endpoint is inside")
		}
		if got != c.SegmentIntersects(b, a) && d < EarthRadiusKm*math.Pi-1 {
			t.Fatalf("SegmentIntersects not symmetric for %v, %v around %v r=%v", a, b, center, r)
		}
	})
}
