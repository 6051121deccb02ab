package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/scodalabs/scoda/pkg/otlpspan"
	"github.com/scodalabs/scoda/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

// startSink runs the command's run on a free port until the test ends, and checks it stops
// cleanly. It returns the base URL and the trace file.
func startSink(t *testing.T, maxBody int64) (string, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "traces.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{Addr: "127.0.0.1:0", MaxSpans: 1000, File: file, FileMax: 1 << 20, MaxBody: maxBody,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ShutdownT: 2 * time.Second,
			OnListen: func(otlp, _ net.Addr) { addr <- otlp }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a.String(), file
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return "", ""
}

// provider is one service's SDK exporting to url with the real OTLP/HTTP exporter.
func provider(t *testing.T, url, service string, compression otlptracehttp.Compression) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(url+"/v1/traces"), otlptracehttp.WithCompression(compression))
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
}

func get(t *testing.T, url string, wantStatus int) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := testkit.Send(t, req)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, body, wantStatus)
	}
	return body
}

// Two services export one trace through the SDK's OTLP/HTTP exporter (gzip and not); the sink
// serves it back by id as JSON and as a tree, lists it, and writes one JSON line per span.
func TestServesExportedTraces(t *testing.T) {
	url, file := startSink(t, 1<<20)
	tracking := provider(t, url, "tracking", otlptracehttp.GzipCompression)
	notification := provider(t, url, "notification", otlptracehttp.NoCompression)

	t0 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tt, nt := tracking.Tracer("otelhttp"), notification.Tracer("natsx")
	ctx, post := tt.Start(t.Context(), "POST", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at(0)),
		trace.WithAttributes(attribute.String("http.route", "/v1/events")))
	pctx, send := tt.Start(ctx, "send tracking.v1.container.gate_in.{containerNo} batch", trace.WithSpanKind(trace.SpanKindProducer), trace.WithTimestamp(at(2)))
	send.End(trace.WithTimestamp(at(3)))
	post.End(trace.WithTimestamp(at(12)))
	cctx, consume := nt.Start(pctx, "process tracking.v1.container.gate_in.{containerNo}", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithTimestamp(at(5)),
		trace.WithAttributes(attribute.String("messaging.consumer.group.name", "notification-fanout")))
	_, hook := nt.Start(cctx, "webhook POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at(20)),
		trace.WithAttributes(attribute.Int("http.response.status_code", 500), attribute.Float64("odd", 0)))
	hook.SetStatus(codes.Error, "500 Internal Server Error")
	hook.End(trace.WithTimestamp(at(45)))
	consume.End(trace.WithTimestamp(at(46)))
	_, other := tt.Start(context.Background(), "GET", trace.WithTimestamp(at(100)))
	other.End(trace.WithTimestamp(at(101)))
	for _, tp := range []*sdktrace.TracerProvider{tracking, notification} {
		if err := tp.Shutdown(t.Context()); err != nil { // flushes: the sink has answered every export
			t.Fatal(err)
		}
	}
	id := post.SpanContext().TraceID().String()

	t.Run("by id", func(t *testing.T) {
		var got traceJSON
		if err := json.Unmarshal(get(t, url+"/api/traces/"+strings.ToUpper(id), http.StatusOK), &got); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, sp := range got.Spans {
			names = append(names, sp.Service+" "+sp.Kind+" "+sp.Name)
		}
		want := []string{"tracking server POST", "tracking producer send tracking.v1.container.gate_in.{containerNo} batch",
			"notification consumer process tracking.v1.container.gate_in.{containerNo}", "notification client webhook POST"}
		if !slices.Equal(names, want) {
			t.Fatalf("spans by start:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
		}
		h := got.Spans[3]
		if h.ParentID != consume.SpanContext().SpanID().String() || h.DurationMS != 25 || !h.Start.Equal(at(20)) ||
			h.Status != (statusJSON{Code: "error", Message: "500 Internal Server Error"}) || h.Attributes["http.response.status_code"] != float64(500) {
			t.Fatalf("webhook span %+v", h)
		}
		if got.Spans[0].ParentID != "" || got.Spans[0].Attributes["http.route"] != "/v1/events" || got.Spans[0].Status.Code != "unset" {
			t.Fatalf("root span %+v", got.Spans[0])
		}
		if s := got.Trace; s.TraceID != id || s.Root != "POST" || s.RootService != "tracking" || s.Spans != 4 || s.Errors != 1 ||
			s.DurationMS != 46 || !slices.Equal(s.Services, []string{"notification", "tracking"}) {
			t.Fatalf("summary %+v", s)
		}
	})

	t.Run("as a tree", func(t *testing.T) {
		got := string(get(t, url+"/api/traces/"+id+"?format=text", http.StatusOK))
		want := []string{
			"trace " + id + "  4 spans  46.0 ms  2026-11-27T03:00:00Z  [notification tracking]  1 errors",
			"tracking  POST  12.0 ms (server, +0.0 ms) http.route=/v1/events",
			"  tracking  send tracking.v1.container.gate_in.{containerNo} batch  1.0 ms (producer, +2.0 ms)",
			"    notification  process tracking.v1.container.gate_in.{containerNo}  41.0 ms (consumer, +5.0 ms) messaging.consumer.group.name=notification-fanout",
			"      notification  webhook POST  25.0 ms (client, +20.0 ms) http.response.status_code=500 ERROR 500 Internal Server Error",
		}
		if got != strings.Join(want, "\n")+"\n" {
			t.Fatalf("tree:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
	})

	t.Run("list", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			want  []string // trace ids, latest first
		}{
			{"", []string{other.SpanContext().TraceID().String(), id}},
			{"?limit=1", []string{other.SpanContext().TraceID().String()}},
			{"?service=notification", []string{id}},
			{"?name=WEBHOOK", []string{id}},
			{"?service=tracking&min_duration=40ms", []string{id}},
			{"?min_duration=47", []string{}},
			{"?service=scheduling", []string{}},
		} {
			t.Run(tc.query, func(t *testing.T) {
				var got listJSON
				if err := json.Unmarshal(get(t, url+"/api/traces"+tc.query, http.StatusOK), &got); err != nil {
					t.Fatal(err)
				}
				ids := []string{}
				for _, s := range got.Traces {
					ids = append(ids, s.TraceID)
				}
				if !slices.Equal(ids, tc.want) {
					t.Fatalf("traces %v, want %v", ids, tc.want)
				}
			})
		}
		text := string(get(t, url+"/api/traces?service=notification&format=text", http.StatusOK))
		if want := id + "  03:00:00.000    46.0 ms    4 spans  tracking: POST  [notification tracking]  1 errors\n"; text != want {
			t.Fatalf("text list %q, want %q", text, want)
		}
	})

	t.Run("bad queries", func(t *testing.T) {
		get(t, url+"/api/traces/"+strings.Repeat("0", 32), http.StatusNotFound)
		for _, q := range []string{"/api/traces/xyz", "/api/traces?limit=0", "/api/traces?min_duration=soon", "/api/traces?format=yaml"} {
			get(t, url+q, http.StatusBadRequest)
		}
	})

	t.Run("file", func(t *testing.T) {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var spans []spanJSON
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var sp spanJSON
			if err := json.Unmarshal(sc.Bytes(), &sp); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			spans = append(spans, sp)
		}
		if len(spans) != 5 {
			t.Fatalf("%d lines, want one per span (5)", len(spans))
		}
		for _, sp := range spans {
			if sp.TraceID == "" || sp.SpanID == "" || sp.Service == "" || sp.Name == "" {
				t.Fatalf("line %+v", sp)
			}
		}
	})
}

// Exports that are not OTLP/HTTP protobuf are refused with the status the specification gives
// and a google.rpc.Status saying why, and nothing is kept.
func TestRefusesBadExports(t *testing.T) {
	url, file := startSink(t, 1024)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(bytes.Repeat([]byte{0}, 4096)) // small compressed, too large decompressed
	_ = zw.Close()
	for _, tc := range []struct {
		name, contentType, encoding string
		body                        []byte
		want                        int
	}{
		{"json", "application/json", "", []byte("{}"), http.StatusUnsupportedMediaType},
		{"no content type", "", "", []byte{}, http.StatusUnsupportedMediaType},
		{"garbage", "application/x-protobuf", "", []byte("\xff\xff\xff"), http.StatusBadRequest},
		{"bad gzip", "application/x-protobuf", "gzip", []byte("not gzip"), http.StatusBadRequest},
		{"br", "application/x-protobuf", "br", []byte{}, http.StatusUnsupportedMediaType},
		{"too large", "application/x-protobuf", "", bytes.Repeat([]byte{0}, 2048), http.StatusRequestEntityTooLarge},
		{"too large unzipped", "application/x-protobuf", "gzip", zipped.Bytes(), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, url+"/v1/traces", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Content-Encoding", tc.encoding)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var st status.Status
			if resp.StatusCode != tc.want || resp.Header.Get("Content-Type") != otlpspan.ContentType || proto.Unmarshal(body, &st) != nil || st.GetMessage() == "" {
				t.Fatalf("%d %s %q, want %d with a google.rpc.Status", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.want)
			}
		})
	}
	var got listJSON
	if err := json.Unmarshal(get(t, url+"/api/traces", http.StatusOK), &got); err != nil || len(got.Traces) != 0 {
		t.Fatalf("kept %+v (%v)", got, err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Size() != 0 {
		t.Fatalf("file: %v, %v", fi, err)
	}
}

// Memory keeps at most max spans: the traces updated least recently go first, whole.
func TestStoreEvictsLeastRecentTraces(t *testing.T) {
	sp := func(trace, span string) otlpspan.Span { return otlpspan.Span{TraceID: trace, SpanID: span} }
	s := newStore(3)
	s.add([]otlpspan.Span{sp("a", "1"), sp("b", "1"), sp("a", "2")}) // a is the most recent
	s.add([]otlpspan.Span{sp("c", "1")})                             // b goes
	if len(s.get("b")) != 0 || len(s.get("a")) != 2 || len(s.get("c")) != 1 {
		t.Fatalf("a %v, b %v, c %v", s.get("a"), s.get("b"), s.get("c"))
	}
	s.add([]otlpspan.Span{sp("d", "1"), sp("d", "2"), sp("d", "3"), sp("d", "4")}) // d alone fills memory
	if st := s.stats(); st.Traces != 1 || st.Spans != 3 || st.Dropped != 1 || st.Received != 8 || len(s.get("d")) != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// Above its size the file is renamed to <file>.1 and started anew.
func TestFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "traces.jsonl")
	j, err := openJSONLines(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	line := map[string]string{"x": strings.Repeat("y", 40)} // 49 bytes a line
	for i, want := range []bool{false, false, true, false, true} {
		rotated, err := j.write([]any{line})
		if err != nil || rotated != want {
			t.Fatalf("write %d: rotated %v (%v), want %v", i, rotated, err, want)
		}
	}
	for name, want := range map[string]int{path: 49, path + ".1": 98} {
		if fi, err := os.Stat(name); err != nil || fi.Size() != int64(want) {
			t.Fatalf("%s: %v %v, want %d bytes", name, fi, err, want)
		}
	}
}

// The tree folds a run of alike sibling leaves into one line, and prints a span whose parent
// has not arrived at the top with a note.
func TestTreeFoldsAlikeLeaves(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	sp := func(id, parent, name string, startMS, durMS int) otlpspan.Span {
		start := t0.Add(time.Duration(startMS) * time.Millisecond)
		return otlpspan.Span{TraceID: "t", SpanID: id, ParentSpanID: parent, Name: name, Service: "scheduling", Kind: trace.SpanKindClient,
			Start: start, End: start.Add(time.Duration(durMS) * time.Millisecond)}
	}
	consumer := sp("c", "gone", "process x", 0, 10)
	consumer.Kind = trace.SpanKindConsumer
	spans := []otlpspan.Span{consumer, sp("s1", "c", "SELECT", 1, 1), sp("s2", "c", "SELECT", 2, 3), sp("s3", "c", "SELECT", 5, 2),
		sp("u", "c", "UPDATE", 7, 1), sp("s4", "c", "SELECT", 8, 1)}
	var b strings.Builder
	writeTree(&b, summarize("t", spans), spans)
	want := `trace t  6 spans  10.0 ms  2026-11-27T03:00:00Z  [scheduling]
scheduling  process x  10.0 ms (consumer, +0.0 ms)  (parent gone not received)
  scheduling  SELECT  ×3  1.0 ms to 3.0 ms (client, +1.0 ms)
  scheduling  UPDATE  1.0 ms (client, +7.0 ms)
  scheduling  SELECT  1.0 ms (client, +8.0 ms)
`
	if b.String() != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", b.String(), want)
	}
}
