package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/scodalabs/scoda/pkg/otlpspan"
)

// sink is the receiver, the memory and the file, and the query API over them.
type sink struct {
	store *store
	file  *jsonLines // nil: no file
	log   *slog.Logger
}

func newSink(maxSpans int, file string, fileMax int64, log *slog.Logger) (*sink, error) {
	s := &sink{store: newStore(maxSpans), log: log}
	if file != "" {
		f, err := openJSONLines(file, fileMax)
		if err != nil {
			return nil, fmt.Errorf("trace file: %w", err)
		}
		s.file = f
	}
	return s, nil
}

func (s *sink) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

func (s *sink) routeOTLP(mux *http.ServeMux, maxBody int64) {
	mux.Handle("POST /v1/traces", otlpspan.Handler(maxBody, s.add))
}

func (s *sink) routeAPI(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/traces", s.list)
	mux.HandleFunc("GET /api/traces/{traceID}", s.trace)
}

// add keeps and records the spans of one export request. A failing file is logged, not
// answered with an error: the exporter could do nothing about it, and memory still has them.
func (s *sink) add(spans []otlpspan.Span) {
	if len(spans) == 0 {
		return
	}
	s.store.add(spans)
	if s.file == nil {
		return
	}
	records := make([]any, len(spans))
	for i, sp := range spans {
		records[i] = toJSON(sp)
	}
	rotated, err := s.file.write(records)
	if rotated {
		s.log.Info("trace file rotated", "file", s.file.path, "previous", s.file.path+".1")
	}
	if err != nil {
		s.log.Error("trace file: spans not written", "file", s.file.path, "spans", len(spans), "err", err)
	}
}

// spanJSON is a span as the API and the file show it.
type spanJSON struct {
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	ParentID   string         `json:"parent_span_id,omitempty"`
	Service    string         `json:"service"` // the resource's service.name
	Name       string         `json:"name"`
	Kind       string         `json:"kind"` // server, client, producer, consumer, internal
	Scope      string         `json:"scope,omitempty"`
	Start      time.Time      `json:"start"`
	DurationMS float64        `json:"duration_ms"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Status     statusJSON     `json:"status"`
}

// traceJSON is GET /api/traces/{traceID}: the trace's summary and its spans by start time.
type traceJSON struct {
	Trace summary    `json:"trace"`
	Spans []spanJSON `json:"spans"`
}

type statusJSON struct {
	Code    string `json:"code"` // unset, ok, error
	Message string `json:"message,omitempty"`
}

func toJSON(sp otlpspan.Span) spanJSON {
	return spanJSON{
		TraceID: sp.TraceID, SpanID: sp.SpanID, ParentID: sp.ParentSpanID,
		Service: sp.Service, Name: sp.Name, Kind: sp.Kind.String(), Scope: sp.Scope,
		Start: sp.Start.UTC(), DurationMS: ms(sp.Duration()),
		Attributes: jsonSafe(sp.Attributes).(map[string]any),
		Status:     statusJSON{Code: statusCode(sp.StatusCode), Message: sp.StatusMsg},
	}
}

// jsonSafe replaces what encoding/json refuses (NaN and infinite floats) by their text.
func jsonSafe(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	}
	return v
}

func statusCode(c tracev1.Status_StatusCode) string {
	switch c {
	case tracev1.Status_STATUS_CODE_OK:
		return "ok"
	case tracev1.Status_STATUS_CODE_ERROR:
		return "error"
	default:
		return "unset"
	}
}

func isError(sp otlpspan.Span) bool { return sp.StatusCode == tracev1.Status_STATUS_CODE_ERROR }

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// trace serves GET /api/traces/{traceID}: JSON, or ?format=text for a tree.
func (s *sink) trace(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("traceID"))
	if !traceIDPattern.MatchString(id) {
		http.Error(w, "a trace id is 32 hex digits", http.StatusBadRequest)
		return
	}
	text, err := wantsText(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	spans := s.store.get(id)
	if len(spans) == 0 {
		http.Error(w, "trace "+id+" is not here (never received, or dropped to keep -max-spans)", http.StatusNotFound)
		return
	}
	sum := summarize(id, spans)
	if text {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		writeTree(w, sum, spans)
		return
	}
	out := traceJSON{Trace: sum, Spans: make([]spanJSON, len(spans))}
	for i, sp := range spans {
		out.Spans[i] = toJSON(sp)
	}
	writeJSON(w, out)
}

// list serves GET /api/traces?service=&name=&min_duration=&limit=&format=.
func (s *sink) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := filter{Service: q.Get("service"), Name: q.Get("name"), Limit: 20}
	var errs []error
	if v := q.Get("min_duration"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("min_duration %q: a duration like 250ms or 2s, or milliseconds", v))
		}
		f.MinDuration = d
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, fmt.Errorf("limit %q: 1 to 1000", v))
		}
		f.Limit = n
	}
	text, err := wantsText(r)
	if err = errors.Join(append(errs, err)...); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	traces := s.store.list(f)
	if !text {
		if traces == nil {
			traces = []summary{}
		}
		writeJSON(w, listJSON{Traces: traces})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, t := range traces {
		root := t.RootService + ": " + t.Root
		if t.MissingRoot {
			root += " (root not received yet)"
		}
		fmt.Fprintf(w, "%s  %s  %9s  %3d spans  %s  [%s]%s\n", t.TraceID, t.Start.UTC().Format("15:04:05.000"),
			msText(t.DurationMS), t.Spans, root, strings.Join(t.Services, " "), errorsText(t.Errors))
	}
}

// listJSON is GET /api/traces: the matching traces, the latest started first.
type listJSON struct {
	Traces []summary `json:"traces"`
}

// parseDuration reads a Go duration ("250ms", "1.5s") or a bare number of milliseconds.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	return d, err
}

func wantsText(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return false, nil
	case "text":
		return true, nil
	default:
		return false, fmt.Errorf("format %q: json or text", f)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// treeAttrs are the attributes the text tree prints after a span, when present: enough to tell
// a route, an answer, a consumer and a failure apart without the JSON.
var treeAttrs = []string{"http.route", "http.response.status_code", "messaging.consumer.group.name", "error.type", "scoda.attempt"}

// writeTree prints a trace as an indented tree, children by start time: each span's service,
// name, duration, kind, start relative to the trace's, and a few attributes. A run of sibling
// leaves alike in all of that but their times (the consumer spans of one batch, a loop of
// SELECTs) is one line with ×N and the range of their durations. A span whose parent has not
// arrived is printed at the top level with a note.
func writeTree(w io.Writer, sum summary, spans []otlpspan.Span) {
	fmt.Fprintf(w, "trace %s  %d spans  %s  %s  [%s]%s\n", sum.TraceID, sum.Spans, msText(sum.DurationMS),
		sum.Start.UTC().Format(time.RFC3339Nano), strings.Join(sum.Services, " "), errorsText(sum.Errors))
	ids := make(map[string]bool, len(spans))
	children := make(map[string][]otlpspan.Span)
	for _, sp := range spans { // spans are by start time, so children are too
		ids[sp.SpanID] = true
		children[sp.ParentSpanID] = append(children[sp.ParentSpanID], sp)
	}
	// what prints after the service and name, times aside
	describe := func(sp otlpspan.Span) string {
		var b strings.Builder
		for _, k := range treeAttrs {
			if v := sp.Attr(k); v != "" {
				fmt.Fprintf(&b, " %s=%s", k, v)
			}
		}
		if isError(sp) {
			fmt.Fprintf(&b, " ERROR %s", sp.StatusMsg)
		}
		return b.String()
	}
	offset := func(sp otlpspan.Span) string { return msText(ms(max(sp.Start.Sub(sum.Start), 0))) }
	printed := make(map[string]bool, len(spans))
	var walk func(sp otlpspan.Span, depth int, note string)
	walk = func(sp otlpspan.Span, depth int, note string) {
		if printed[sp.SpanID] {
			return
		}
		printed[sp.SpanID] = true
		fmt.Fprintf(w, "%s%s  %s  %s (%s, +%s)%s%s\n", strings.Repeat("  ", depth), sp.Service, sp.Name,
			msText(ms(sp.Duration())), sp.Kind, offset(sp), describe(sp), note)
		kids := children[sp.SpanID]
		for i := 0; i < len(kids); {
			c := kids[i]
			j := i + 1
			if len(children[c.SpanID]) == 0 {
				key := c.Service + "\x00" + c.Name + "\x00" + c.Kind.String() + "\x00" + describe(c)
				for j < len(kids) && len(children[kids[j].SpanID]) == 0 &&
					kids[j].Service+"\x00"+kids[j].Name+"\x00"+kids[j].Kind.String()+"\x00"+describe(kids[j]) == key {
					j++
				}
			}
			if j-i == 1 {
				walk(c, depth+1, "")
				i = j
				continue
			}
			lo, hi := c.Duration(), c.Duration()
			for _, k := range kids[i:j] {
				printed[k.SpanID] = true
				lo, hi = min(lo, k.Duration()), max(hi, k.Duration())
			}
			fmt.Fprintf(w, "%s%s  %s  ×%d  %s to %s (%s, +%s)%s\n", strings.Repeat("  ", depth+1), c.Service, c.Name, j-i,
				msText(ms(lo)), msText(ms(hi)), c.Kind, offset(c), describe(c))
			i = j
		}
	}
	for _, sp := range spans {
		switch {
		case sp.ParentSpanID == "":
			walk(sp, 0, "")
		case !ids[sp.ParentSpanID]:
			walk(sp, 0, "  (parent "+sp.ParentSpanID+" not received)")
		}
	}
	// Whatever a parent cycle kept unreachable (a broken exporter), so nothing is hidden.
	for _, sp := range spans {
		walk(sp, 0, "  (in a parent cycle)")
	}
}

func msText(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 3, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

func errorsText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("  %d errors", n)
}
