package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one benchmark measured.
type report struct {
	Machine   string        `json:"machine"`
	Options   string        `json:"options"`
	Raw       rawLimits     `json:"raw"`
	Setup     setupReport   `json:"setup"`
	Runs      []runReport   `json:"runs"`
	Fill      *fillReport   `json:"fill,omitempty"`
	Queries   []queryReport `json:"queries,omitempty"`
	Receiver  receiverStats `json:"receiver"`
	Processes []string      `json:"processes"`
	Usage     []phaseUsage  `json:"usage"`
	Floors    []floorCheck  `json:"floors"`
	Errors    []string      `json:"errors,omitempty"`
}

// floorCheck is one figure the issue sets a floor for.
type floorCheck struct {
	Figure string `json:"figure"`
	Value  number `json:"value"`
	Unit   string `json:"unit"`
	Floor  string `json:"floor"`
	Pass   bool   `json:"pass"`
	Note   string `json:"note,omitempty"`
	// Raw is the raw limit the figure is compared with, and Ratio the figure over it.
	RawName string  `json:"rawName,omitempty"`
	Raw     number  `json:"raw,omitempty"`
	Ratio   float64 `json:"ratio,omitempty"`
}

func (o options) summary() string {
	runs := make([]string, len(o.runs))
	for i, r := range o.runs {
		runs[i] = r.String()
	}
	return fmt.Sprintf("runs [%s] of %s, %d in flight; %d containers, %d subscribed; fill to %d live; %d queries x%d; radius %g km",
		strings.Join(runs, ", "), o.duration, o.concurrency, o.containers, o.subscribed, o.live, o.queries, o.queryConcurrency, o.radiusKm)
}

func machine() string {
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d cores%s, Linux %s, %s, %s", runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)),
		runtime.Version(), time.Now().UTC().Format(time.RFC3339))
}

// number is a figure (a latency in milliseconds, a rate); NaN (nothing measured) is null in JSON.
type number float64

func (m number) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
		return []byte("null"), nil
	}
	return []byte(strconv.FormatFloat(float64(m), 'f', 3, 64)), nil
}

// pct is the p-th percentile of ds in milliseconds (NaN for none).
func pct(ds []time.Duration, p float64) number {
	if len(ds) == 0 {
		return number(math.NaN())
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)
	return number(float64(s[max(i, 0)].Microseconds()) / 1000)
}

// check fills Floors from the floors:
//   - 10,000 events/s sustained end to end (accepted -> history -> Redis -> webhooks delivered):
//     the best run in which every awaited webhook arrived;
//   - ingest-to-webhook p99 < 250 ms at 5,000 events/s: the first HTTP run at 5,000;
//   - GET /v1/containers/{no} p99 < 5 ms, and the 10 km geo search p99 < 5 ms over 1,000,000 live
//     containers.
func (r *report) check() {
	best, bestRun := 0.0, ""
	for _, run := range r.Runs {
		if run.Complete && run.FailedRequests == 0 && run.EndToEndPerSec > best {
			best, bestRun = run.EndToEndPerSec, run.Run
		}
	}
	rawMin, rawName := r.Raw.JetStreamMsgsPerSec, "JetStream publish"
	if v := r.Raw.RedisUpdatesPerSec; v > 0 && v < rawMin {
		rawMin, rawName = v, "Redis writes"
	}
	if v := r.Raw.PostgresRowsPerSec; v > 0 && v < rawMin {
		rawMin, rawName = v, "PostgreSQL COPY"
	}
	f := floorCheck{Figure: "sustained end to end (history + live + webhooks)", Value: number(best), Unit: "ev/s",
		Floor: ">= 10,000", Pass: best >= 10000, Note: bestRun, RawName: rawName + " (lowest raw)", Raw: number(rawMin)}
	if bestRun == "" {
		f.Note = "no run delivered every awaited webhook"
	}
	r.Floors = append(r.Floors, f.ratio())

	wh := floorCheck{Figure: "ingest-to-webhook p99 at 5,000 ev/s", Unit: "ms", Floor: "< 250", Value: number(math.NaN())}
	for _, run := range r.Runs {
		if !run.NATS && run.TargetRate == 5000 {
			wh.Value, wh.Pass = run.WebhookP99ms, run.Complete && run.WebhookP99ms < 250
			wh.Note = fmt.Sprintf("%s; %d of %d delivered", run.Run, run.WebhooksDelivered, run.WebhooksExpected)
			break
		}
	}
	if math.IsNaN(float64(wh.Value)) {
		wh.Note = "no HTTP run at 5,000 ev/s"
	}
	r.Floors = append(r.Floors, wh)

	live := int64(0)
	if r.Fill != nil {
		live = r.Fill.LiveInGeo
	}
	for i, q := range r.Queries {
		c := floorCheck{Figure: q.Query + " p99", Value: q.P99ms, Unit: "ms", Floor: "< 5", Pass: q.P99ms < 5 && q.Errors == 0,
			RawName: "Redis HGETALL p99", Raw: q.RawP99ms}
		if i == 1 {
			c.RawName = "Redis GEOSEARCH p99"
			c.Note = fmt.Sprintf("%d live containers; %.0f results on average (limit 100), %d empty; %.0f within the radius on average (max %d, %d sampled)",
				live, q.MeanResults, q.EmptyResults, q.InRadiusMean, q.InRadiusMax, q.InRadiusSampled)
			if live < 1_000_000 {
				c.Pass = false
				c.Note += " (the floor is over 1,000,000)"
			}
		}
		if q.Errors > 0 {
			c.Note = strings.TrimPrefix(c.Note+fmt.Sprintf("; %d errors", q.Errors), "; ")
		}
		r.Floors = append(r.Floors, c.ratio())
	}
}

func (f floorCheck) ratio() floorCheck {
	if f.Raw > 0 && !math.IsNaN(float64(f.Value)) {
		f.Ratio = float64(f.Value / f.Raw)
	}
	return f
}

func pctOf(v, of float64) string {
	if of <= 0 || math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*v/of)
}

func fmtMS(v number) string {
	if math.IsNaN(float64(v)) {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(v))
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nSCODA Track load benchmark — %s\n%s\n", r.Machine, r.Options)

	fmt.Fprintf(w, "\nRaw limits of this machine (same run)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  JetStream async publish, 300-byte msgs, R1 file stream\t%.0f msg/s\n", r.Raw.JetStreamMsgsPerSec)
	fmt.Fprintf(tw, "  Redis HSET (6 fields) + GEOADD, pipelines of 1,000 x4 conns\t%.0f updates/s\n", r.Raw.RedisUpdatesPerSec)
	fmt.Fprintf(tw, "  PostgreSQL COPY ~300-byte rows, 1,000 per commit x4 conns\t%.0f rows/s\n", r.Raw.PostgresRowsPerSec)
	tw.Flush()

	s := r.Setup
	fmt.Fprintf(w, "\nSetup: tenant %q booked %d containers on %d departures in %.1fs (%.0f bookings/s); %d BOOKING webhooks after %.1fs\n",
		tenant, s.Subscribed, s.Departures, s.BookSeconds, s.BookingsPerSec, s.BookingWebhooks, s.OwnedSeconds)

	fmt.Fprintf(w, "\nRate runs (accept latency per request; webhook latency from the send of the request carrying the event)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "run\taccepted ev/s\t%% raw JS\taccept p50/p99/p999 ms\tprojected ev/s\tbacklog start / notif. at projected\twebhooks got/awaited\twebhook p50/p99/p999 ms\tend to end ev/s\t%% raw PG\t%% raw Redis\t\n")
	for _, x := range r.Runs {
		e2e := fmt.Sprintf("%.0f (%.1fs)", x.EndToEndPerSec, x.EndToEndSeconds)
		if !x.Complete {
			e2e += " INCOMPLETE"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s / %s / %s\t%.0f (%.1fs)\t%d / %d\t%d / %d\t%s / %s / %s\t%s\t%s\t%s\t\n", x.Run, x.AcceptedPerSec,
			pctOf(x.AcceptedPerSec, r.Raw.JetStreamMsgsPerSec), fmtMS(x.AcceptP50ms), fmtMS(x.AcceptP99ms), fmtMS(x.AcceptP999ms),
			x.ProjectedPerSec, x.ProjectedSeconds, x.StartBacklog, x.NotificationBacklog, x.WebhooksDelivered, x.WebhooksExpected,
			fmtMS(x.WebhookP50ms), fmtMS(x.WebhookP99ms), fmtMS(x.WebhookP999ms), e2e,
			pctOf(x.EndToEndPerSec, r.Raw.PostgresRowsPerSec), pctOf(x.EndToEndPerSec, r.Raw.RedisUpdatesPerSec))
	}
	tw.Flush()
	for _, x := range r.Runs {
		if x.FailedRequests > 0 {
			fmt.Fprintf(w, "  %s: %d failed requests\n", x.Run, x.FailedRequests)
		}
	}

	if f := r.Fill; f != nil {
		fmt.Fprintf(w, "\nFill: %d containers, %d events accepted at %.0f ev/s (%s of raw JetStream), projected at %.0f ev/s (%.1fs); %d live containers in the geo index\n",
			f.Containers, f.Events, f.AcceptedPerSec, pctOf(f.AcceptedPerSec, r.Raw.JetStreamMsgsPerSec), f.ProjectedPerS, f.ProjectedSecs, f.LiveInGeo)
	}
	if len(r.Queries) > 0 {
		fmt.Fprintf(w, "\nQueries (dispatcher token; the services had %d events of earlier phases still to process at the start)\n", r.Queries[0].StartBacklog)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "query\trequests\terrors\treq/s\tp50/p99/p999 ms\traw Redis p50/p99 ms\tp99 / raw p99\t\n")
		for _, q := range r.Queries {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%s / %s / %s\t%s / %s\t%.1fx\t\n", q.Query, q.Requests, q.Errors, q.PerSec,
				fmtMS(q.P50ms), fmtMS(q.P99ms), fmtMS(q.P999ms), fmtMS(q.RawP50ms), fmtMS(q.RawP99ms), float64(q.P99ms/q.RawP99ms))
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nCPU (cores busy on average) / peak RSS (MiB) per phase; postgres: every process of the server, CPU only\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\tsecs\t%s\t\n", strings.Join(r.Processes, "\t"))
	for _, u := range r.Usage {
		cells := make([]string, len(r.Processes))
		for i, name := range r.Processes {
			p := u.Procs[name]
			cells[i] = fmt.Sprintf("%.2f", p.Cores)
			if p.PeakRSSMB > 0 {
				cells[i] += fmt.Sprintf(" / %.0f", p.PeakRSSMB)
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t\n", u.Phase, u.Seconds, strings.Join(cells, "\t"))
	}
	tw.Flush()

	st := r.Receiver
	fmt.Fprintf(w, "\nWebhook receiver: %d verified deliveries (%d not awaited: bookings, fill, late ones), %d rejected signatures; by type %v\n",
		st.Verified, st.Other, st.Rejected, st.ByType)

	fmt.Fprintf(w, "\nFloors\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "figure\tvalue\tfloor\tresult\tratio to raw limit\tnote\n")
	for _, f := range r.Floors {
		res := "FAIL"
		if f.Pass {
			res = "pass"
		}
		ratio := "-"
		if f.Ratio > 0 {
			if f.Unit == "ms" {
				ratio = fmt.Sprintf("%.1fx %s (%.2f ms)", f.Ratio, f.RawName, float64(f.Raw))
			} else {
				ratio = fmt.Sprintf("%.0f%% of %s (%.0f)", 100*f.Ratio, f.RawName, float64(f.Raw))
			}
		}
		val := fmt.Sprintf("%.0f %s", float64(f.Value), f.Unit)
		if f.Unit == "ms" {
			val = fmtMS(f.Value) + " ms"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\n", f.Figure, val, f.Floor, f.Unit, res, ratio, f.Note)
	}
	tw.Flush()
	for _, e := range r.Errors {
		fmt.Fprintf(w, "ERROR %s\n", e)
	}
}
