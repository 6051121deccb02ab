package main

import (
	"container/list"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scodalabs/scoda/pkg/otlpspan"
)

// store keeps the spans of recent traces in memory, at most max spans. A trace that receives a
// span becomes the most recent; when spans do not fit, the least recent traces go, whole.
type store struct {
	mu       sync.Mutex
	max      int
	spans    int
	received int64
	dropped  int64 // spans of a trace that alone outgrew max
	traces   map[string]*list.Element
	order    *list.List // of *traceEntry, least recently updated first
}

// traceEntry is one trace's spans, in arrival order.
type traceEntry struct {
	id    string
	spans []otlpspan.Span
}

func newStore(max int) *store {
	return &store{max: max, traces: make(map[string]*list.Element), order: list.New()}
}

func (s *store) add(spans []otlpspan.Span) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		s.received++
		el, ok := s.traces[sp.TraceID]
		if !ok {
			el = s.order.PushBack(&traceEntry{id: sp.TraceID})
			s.traces[sp.TraceID] = el
		} else {
			s.order.MoveToBack(el)
		}
		t := el.Value.(*traceEntry)
		if len(t.spans) >= s.max {
			s.dropped++
			continue
		}
		t.spans = append(t.spans, sp)
		s.spans++
		for s.spans > s.max {
			old := s.order.Front().Value.(*traceEntry) // never t: t alone holds at most max
			s.order.Remove(s.order.Front())
			delete(s.traces, old.id)
			s.spans -= len(old.spans)
		}
	}
}

// get returns a copy of the spans of trace id, ordered by start time.
func (s *store) get(id string) []otlpspan.Span {
	s.mu.Lock()
	el, ok := s.traces[id]
	var spans []otlpspan.Span
	if ok {
		spans = slices.Clone(el.Value.(*traceEntry).spans)
	}
	s.mu.Unlock()
	byStart(spans)
	return spans
}

// filter selects traces for the list.
type filter struct {
	Service     string        // a span of the trace is of this service
	Name        string        // a span's name contains this, case-insensitively
	MinDuration time.Duration // the trace's extent (first start to last end) is at least this
	Limit       int
}

// list summarizes the traces that match f, the latest started first.
func (s *store) list(f filter) []summary {
	s.mu.Lock()
	var out []summary
	for el := s.order.Back(); el != nil; el = el.Prev() {
		t := el.Value.(*traceEntry)
		if !f.match(t.spans) {
			continue
		}
		sum := summarize(t.id, t.spans)
		if sum.duration() < f.MinDuration {
			continue
		}
		out = append(out, sum)
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b summary) int { return b.Start.Compare(a.Start) })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

func (f filter) match(spans []otlpspan.Span) bool {
	name := strings.ToLower(f.Name)
	okService, okName := f.Service == "", f.Name == ""
	for _, sp := range spans {
		okService = okService || sp.Service == f.Service
		okName = okName || strings.Contains(strings.ToLower(sp.Name), name)
		if okService && okName {
			return true
		}
	}
	return false
}

type stats struct {
	Received, Dropped int64
	Traces, Spans     int
}

func (s *store) stats() stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return stats{Received: s.received, Dropped: s.dropped, Traces: len(s.traces), Spans: s.spans}
}

// summary is one line of the list.
type summary struct {
	TraceID     string    `json:"trace_id"`
	Root        string    `json:"root"`                   // the root span's name
	RootService string    `json:"root_service"`           // and its service
	MissingRoot bool      `json:"missing_root,omitempty"` // no span without a parent yet: Root is the earliest orphan
	Services    []string  `json:"services"`
	Spans       int       `json:"spans"`
	Errors      int       `json:"errors"` // spans with status Error
	Start       time.Time `json:"start"`
	DurationMS  float64   `json:"duration_ms"` // first start to last end
}

func (s summary) duration() time.Duration {
	return time.Duration(s.DurationMS * float64(time.Millisecond))
}

// summarize describes a trace's spans (in any order).
func summarize(id string, spans []otlpspan.Span) summary {
	sum := summary{TraceID: id, Spans: len(spans), Services: []string{}}
	if len(spans) == 0 {
		return sum
	}
	ids := make(map[string]bool, len(spans))
	for _, sp := range spans {
		ids[sp.SpanID] = true
	}
	start, end := spans[0].Start, spans[0].End
	var root, orphan *otlpspan.Span
	for i, sp := range spans {
		if sp.Start.Before(start) {
			start = sp.Start
		}
		if sp.End.After(end) {
			end = sp.End
		}
		if !slices.Contains(sum.Services, sp.Service) {
			sum.Services = append(sum.Services, sp.Service)
		}
		if isError(sp) {
			sum.Errors++
		}
		switch {
		case sp.ParentSpanID == "":
			if root == nil || sp.Start.Before(root.Start) {
				root = &spans[i]
			}
		case !ids[sp.ParentSpanID]:
			if orphan == nil || sp.Start.Before(orphan.Start) {
				orphan = &spans[i]
			}
		}
	}
	slices.Sort(sum.Services)
	if root == nil {
		root, sum.MissingRoot = orphan, true
	}
	if root != nil {
		sum.Root, sum.RootService = root.Name, root.Service
	}
	sum.Start = start
	sum.DurationMS = ms(max(end.Sub(start), 0))
	return sum
}

func byStart(spans []otlpspan.Span) {
	slices.SortStableFunc(spans, func(a, b otlpspan.Span) int { return a.Start.Compare(b.Start) })
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
