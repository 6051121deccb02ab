package geofence

import (
	"math"
	"slices"
	"time"

	"github.com/scodalabs/scoda/pkg/corridor"
	"github.com/scodalabs/scoda/pkg/geo"
)

// Fix is one position of a container at a time.
type Fix struct {
	Point   geo.Point
	At      time.Time
	EventID string // id of the position event the fix came from
}

// TransitionKind is what happened at a fence.
type TransitionKind int

// Kinds of transition.
const (
	// Enter: the path went from outside a fence to inside it.
	Enter TransitionKind = iota + 1
	// Exit: the path went from inside a fence to outside it.
	Exit
	// BorderCrossed: the path crossed the border between the stations of
	// a border pair, from the exit side to the entry side.
	BorderCrossed
)

// String returns "enter", "exit" or "border_crossed".
func (k TransitionKind) String() string {
	switch k {
	case Enter:
		return "enter"
	case Exit:
		return "exit"
	case BorderCrossed:
		return "border_crossed"
	}
	return "unknown"
}

// Transition is a fence boundary or border crossed between two fixes.
type Transition struct {
	Kind TransitionKind
	// Fence is the fence entered or left; for BorderCrossed, the fence of
	// the station on the entry side.
	Fence Fence
	// At is when the boundary was crossed, interpolated along the path
	// between the two fixes at constant speed; within [prev.At, next.At].
	At time.Time
	// Crossing is set for BorderCrossed: the border pair oriented in the
	// direction of travel (From is the exit side, To the entry side, and
	// the gauges are in that order). The way back of a pair the network
	// lists in one direction has the same Routes.
	Crossing *corridor.Crossing
}

// margin widens the cheap rejection test so that rounding never drops a
// fence the exact tests would keep (1e-6 rad is about 6 m).
const margin = 1e-6

// tiny is the path length, in radians (about 6 µm), below which a path has
// no usable direction.
const tiny = 1e-12

// Transitions returns the fence and border transitions on the path from
// prev to next, two consecutive fixes of one container, ordered by time:
//
//   - Enter when prev is outside a fence and next inside; Exit for the
//     reverse; Enter then Exit when both are outside but the path passes
//     through the fence (sparse fixes either side of a small fence). Each
//     time is where the path meets the fence's circle.
//   - BorderCrossed when the path crosses the border of a border pair
//     from the exit station's side to the entry station's side. The border
//     is approximated by the perpendicular bisector of the two stations
//     (the points as far from one as from the other), and only counts
//     where the path meets it within the index's border reach (default
//     BorderReachKm) of the pair's midpoint, so fixes far away, in other
//     countries, never count.
//
// There are none when next is not newer than prev, when either point is
// invalid, or when the path is longer than the index's maximum segment
// (default MaxSegmentKm): such a gap in the data says nothing reliable
// about where the container went.
func (ix *Index) Transitions(prev, next Fix) []Transition {
	if !next.At.After(prev.At) || prev.Point.Validate() != nil || next.Point.Validate() != nil {
		return nil
	}
	s := newSegment(prev.Point, next.Point)
	if s.theta*geo.EarthRadiusKm > ix.maxSeg {
		return nil
	}

	type found struct {
		kind  TransitionKind
		fence int
		frac  float64 // where along the path, 0 at prev and 1 at next
		cross *corridor.Crossing
	}
	var fs []found
	for i := range ix.fences {
		f := &ix.fences[i]
		// The path lies within half its length of its midpoint: a fence
		// farther than that plus its radius (and a margin) cannot be
		// touched. cos(half + rho') by the angle-sum formula.
		if s.half+f.rho+margin < math.Pi && dot(s.mid, f.c) < s.cosHalf*f.cosR-s.sinHalf*f.sinR {
			continue
		}
		inA, inB := f.Area.Contains(prev.Point), f.Area.Contains(next.Point)
		switch {
		case !inA && inB:
			enter, _ := s.circle(f)
			fs = append(fs, found{kind: Enter, fence: i, frac: enter})
		case inA && !inB:
			_, exit := s.circle(f)
			fs = append(fs, found{kind: Exit, fence: i, frac: exit})
		case !inA && !inB && f.Area.SegmentIntersects(prev.Point, next.Point):
			enter, exit := s.circle(f)
			fs = append(fs, found{kind: Enter, fence: i, frac: enter}, found{kind: Exit, fence: i, frac: exit})
		}
	}
	for i := range ix.borders {
		b := &ix.borders[i]
		if frac, ok := s.border(b); ok {
			c := b.crossing
			c.Routes = slices.Clone(c.Routes)
			fs = append(fs, found{kind: BorderCrossed, fence: b.entry, frac: frac, cross: &c})
		}
	}
	if len(fs) == 0 {
		return nil
	}
	// Stable, so an Enter and Exit of one fence at the same point (a path
	// grazing it) keep their order.
	slices.SortStableFunc(fs, func(x, y found) int {
		switch {
		case x.frac < y.frac:
			return -1
		case x.frac > y.frac:
			return 1
		}
		return 0
	})
	out := make([]Transition, len(fs))
	for i, f := range fs {
		out[i] = Transition{Kind: f.kind, Fence: ix.fences[f.fence].Fence, At: interpolate(prev.At, next.At, f.frac), Crossing: f.cross}
	}
	return out
}

// interpolate returns the time at fraction frac of the way from t0 to t1,
// clamped to [t0, t1] against rounding.
func interpolate(t0, t1 time.Time, frac float64) time.Time {
	at := t0.Add(time.Duration(frac * float64(t1.Sub(t0))))
	if at.After(t1) {
		return t1
	}
	if at.Before(t0) {
		return t0
	}
	return at
}

// segment is the great-circle arc from a to b: the points
// cos(φ)·a + sin(φ)·u for φ in [0, theta].
type segment struct {
	a, b  vec
	u     vec     // unit tangent at a, towards b
	theta float64 // length, radians
	mid   vec     // midpoint
	half  float64 // theta / 2
	// cos and sin of half
	cosHalf, sinHalf float64
}

func newSegment(p, q geo.Point) segment {
	a, b := unit(p), unit(q)
	s := segment{a: a, b: b, theta: angle(a, b)}
	s.half = s.theta / 2
	s.sinHalf, s.cosHalf = math.Sincos(s.half)
	s.mid = normalize(add(a, b))
	if s.theta >= tiny {
		s.u = normalize(sub(b, scale(dot(a, b), a)))
	}
	return s
}

// clampFrac turns an angle along the path into a fraction of it in [0, 1].
func (s *segment) clampFrac(phi float64) float64 {
	if s.theta < tiny {
		return 1
	}
	return math.Min(1, math.Max(0, phi/s.theta))
}

// circle returns the fractions of the path where its great circle enters
// and leaves the fence's circle, each clamped to [0, 1]. Along the great
// circle, dot(p(φ), c) = K·cos(φ - α); the point is inside the fence when
// that is at least cos(rho), between α - δ and α + δ.
func (s *segment) circle(f *fence) (enter, exit float64) {
	ac, uc := dot(s.a, f.c), dot(s.u, f.c)
	k := math.Hypot(ac, uc)
	alpha := math.Atan2(uc, ac)
	var delta float64
	if k > 0 {
		// A ratio just above 1 is rounding on a path that only grazes the
		// fence: δ = 0, both times at the closest approach.
		delta = math.Acos(math.Min(1, math.Max(-1, math.Cos(f.rho)/k)))
	}
	return s.clampFrac(alpha - delta), s.clampFrac(alpha + delta)
}

// border reports whether the path crosses b's border from its From side to
// its To side near the pair, and where along the path. The side of a point
// p is the sign of dot(p, unit(From) - unit(To)): positive when p is nearer
// From. A point exactly on the border counts as on the To side, so a path
// that touches the border and turns back crosses it once each way.
func (s *segment) border(b *border) (float64, bool) {
	sa, sb := dot(s.a, b.normal), dot(s.b, b.normal)
	if sa <= 0 || sb > 0 {
		return 0, false
	}
	x, phi := s.b, s.theta
	if s.theta >= tiny {
		// Along the arc the side is sa·cos(φ) + su·sin(φ): a sinusoid that
		// is positive at 0 and not at theta < π, so it has one zero there.
		su := dot(s.u, b.normal)
		phi = math.Atan2(sa, -su)
		x = add(scale(math.Cos(phi), s.a), scale(math.Sin(phi), s.u))
	}
	if angle(x, b.mid) > b.reach {
		return 0, false
	}
	return s.clampFrac(phi), true
}
