package notification

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
)

// The live stream, GET /v1/stream: Server-Sent Events of the caller's containers, read
// straight from the TRACKING and SCHEDULE streams. Each connection has two ordered consumers
// of its own (one per stream, one filter subject each: nats-server 2.9 allows no more), which
// start where the connection starts (or where Last-Event-ID says it left off) and are deleted
// when it ends. Nothing is stored per client: the SSE id is the pair of stream positions.
//
// It is a plain http.Handler on the API mux, behind the same authentication as every route
// (app.Handler), because go-kit's request/response model does not fit an endless response.

// TypeDeparture is the stream's event type of a departure change that has no DCSA code
// (planned, opened, closed, capacity changed). Departures go to dispatchers and admins only.
const TypeDeparture = "DEPARTURE"

// Stream tunables. keepaliveInterval is a variable so tests can shorten it.
var keepaliveInterval = 15 * time.Second

const (
	ownerCacheTTL  = 5 * time.Second  // how long a connection trusts an ownership answer
	ownerCacheMax  = 4096             // entries before a connection's cache starts over
	writeTimeout   = 30 * time.Second // a client that takes longer to take a message is dropped
	consumerIdle   = time.Minute      // the server deletes a consumer orphaned by a crash
	cleanupTimeout = 5 * time.Second  // deleting a connection's consumers
	maxStreamRefs  = 100              // references a stream may filter on
)

// streamTypes are the event types a stream may filter on: a subscription's, and departures.
var streamTypes = append(slices.Clone(EventTypes), TypeDeparture)

// Streamer serves live streams. It is also a Worker: when the service shuts down, its Run
// returns and every open stream ends.
type Streamer struct {
	js    jetstream.JetStream
	store *pgstore.Store
	log   *slog.Logger

	done     chan struct{}
	doneOnce sync.Once
}

// NewStreamer returns a Streamer reading from js and checking ownership in store.
func NewStreamer(js jetstream.JetStream, store *pgstore.Store, log *slog.Logger) *Streamer {
	return &Streamer{js: js, store: store, log: log, done: make(chan struct{})}
}

// Run waits for the service to stop, then ends the open streams.
func (s *Streamer) Run(ctx context.Context) error {
	<-ctx.Done()
	s.doneOnce.Do(func() { close(s.done) })
	return nil
}

// Mount registers GET /v1/stream on mux.
func (s *Streamer) Mount(mux *app.Mux) {
	mux.Handle("GET /v1/stream", s)
}

// position is where a stream client is: the last TRACKING and SCHEDULE sequences it has been
// given (or that were passed over for it).
type position struct{ tracking, schedule uint64 }

// String is the SSE id of p: "t<tracking>-s<schedule>".
func (p position) String() string {
	return "t" + strconv.FormatUint(p.tracking, 10) + "-s" + strconv.FormatUint(p.schedule, 10)
}

// parsePosition reads an SSE id we sent.
func parsePosition(id string) (position, error) {
	t, s, ok := strings.Cut(id, "-")
	if !ok || len(t) < 2 || len(s) < 2 || t[0] != 't' || s[0] != 's' {
		return position{}, errors.New(`is not an id of this stream ("t<n>-s<n>")`)
	}
	var p position
	var err1, err2 error
	p.tracking, err1 = strconv.ParseUint(t[1:], 10, 64)
	p.schedule, err2 = strconv.ParseUint(s[1:], 10, 64)
	if err1 != nil || err2 != nil || t[1] == '+' || s[1] == '+' {
		return position{}, errors.New(`is not an id of this stream ("t<n>-s<n>")`)
	}
	return p, nil
}

// streamFilter is what a client asked to see, besides the tenant rule. References are
// alternatives (an event about any of them); event types too; both must hold when given.
type streamFilter struct {
	containers, bookings, documents, types []string
}

func (f streamFilter) refs() int { return len(f.containers) + len(f.bookings) + len(f.documents) }

// match reports whether an event with facts ev passes f.
func (f streamFilter) match(ev facts) bool {
	if len(f.types) > 0 && !slices.Contains(f.types, ev.code) {
		return false
	}
	if f.refs() == 0 {
		return true
	}
	return ev.container != "" && slices.Contains(f.containers, ev.container) ||
		ev.booking != "" && slices.Contains(f.bookings, ev.booking) ||
		ev.document != "" && slices.Contains(f.documents, ev.document)
}

// parseStreamRequest reads the query and Last-Event-ID of r. from is nil without
// Last-Event-ID. A bad id is a MalformedError (400), bad query parameters a ValidationError (422).
func parseStreamRequest(r *http.Request) (f streamFilter, from *position, err error) {
	q := r.URL.Query()
	v := &apperr.ValidationError{}
	for i, s := range q["equipmentReference"] {
		c, err := iso6346.Parse(s)
		if err != nil {
			v.Add(fmt.Sprintf("equipmentReference[%d]", i), "is not an ISO 6346 container number")
			continue
		}
		f.containers = append(f.containers, string(c))
	}
	refs := func(name string, out *[]string) {
		for i, s := range q[name] {
			if reason := referenceProblem(s); reason != "" {
				v.Add(fmt.Sprintf("%s[%d]", name, i), reason)
				continue
			}
			*out = append(*out, s)
		}
	}
	refs("bookingReference", &f.bookings)
	refs("transportDocumentReference", &f.documents)
	for i, t := range q["eventType"] {
		if !slices.Contains(streamTypes, t) {
			v.Add(fmt.Sprintf("eventType[%d]", i), "is not an event type; one of "+strings.Join(streamTypes, ", "))
			continue
		}
		f.types = append(f.types, t)
	}
	if f.refs() > maxStreamRefs {
		v.Add("equipmentReference", fmt.Sprintf("%d references named; at most %d", f.refs(), maxStreamRefs))
	}
	if err := v.Err(); err != nil {
		return f, nil, err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		p, err := parsePosition(id)
		if err != nil {
			return f, nil, &kitx.MalformedError{Field: "Last-Event-ID", Reason: err.Error()}
		}
		from = &p
	}
	return f, from, nil
}

// acceptsEventStream reports whether the client asked for text/event-stream, as EventSource
// does. The stream never ends on its own, so a client that did not ask for it (a crawler, a
// generic HTTP tool, a schema checker) gets 406 rather than a response it would wait on forever.
func acceptsEventStream(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(h, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

// ServeHTTP serves one stream until the client goes away or the service stops.
func (s *Streamer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principal(ctx)
	if !p.Allowed(auth.RoleShipper, auth.RoleDispatcher) {
		kitx.EncodeError(ctx, fmt.Errorf("%w: role %s may not stream events", apperr.ErrForbidden, p.Role), w)
		return
	}
	if !acceptsEventStream(r) {
		kitx.WriteProblem(ctx, w, kitx.Problem{Type: kitx.TypeBlank, Title: http.StatusText(http.StatusNotAcceptable),
			Status: http.StatusNotAcceptable, Detail: "GET /v1/stream is an endless text/event-stream: send Accept: text/event-stream"})
		return
	}
	filter, from, err := parseStreamRequest(r)
	if err != nil {
		kitx.EncodeError(ctx, err, w)
		return
	}
	c := &streamConn{s: s, p: p, filter: filter, owned: map[string]ownedEntry{}}
	if err := c.open(ctx, from); err != nil {
		c.close()
		s.log.ErrorContext(ctx, "stream: open consumers", "error", err)
		kitx.EncodeError(ctx, fmt.Errorf("open stream: %w", apperr.ErrUnavailable), w)
		return
	}
	defer c.close()

	rc := http.NewResponseController(w)
	// The server's read timeout would end the request's context mid-stream; a stream reads
	// nothing after its headers. Without support the stream ends then and the client resumes.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The first message carries only the start position: EventSource remembers it as its last
	// event id, so a client that reconnects before any event arrives misses nothing.
	if err := c.write(rc, w, "id: "+c.pos.String()+"\n\n"); err != nil {
		return
	}
	sent := c.pos
	keepalive := time.NewTicker(keepaliveInterval)
	defer keepalive.Stop()
	for {
		var msg jetstream.Msg
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-keepalive.C:
			out := ": keepalive\n\n"
			if c.pos != sent { // positions passed over for this client: move its id on
				out = ": keepalive\nid: " + c.pos.String() + "\n\n"
				sent = c.pos
			}
			if c.write(rc, w, out) != nil {
				return
			}
			continue
		case msg = <-c.tracking.msgs:
		case msg = <-c.schedule.msgs:
		}
		out, err := c.handle(ctx, msg)
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "stream: event", "subject", msg.Subject(), "error", err)
			}
			return // the client resumes from the last id it got, and this event comes again
		}
		if out == "" {
			continue
		}
		if c.write(rc, w, out) != nil {
			return
		}
		sent = c.pos
	}
}

// streamConn is one client's stream.
type streamConn struct {
	s                  *Streamer
	p                  auth.Principal
	filter             streamFilter
	pos                position
	tracking, schedule *source
	owned              map[string]ownedEntry // container -> does p's tenant own it
}

type ownedEntry struct {
	owned bool
	at    time.Time
}

// source is one ordered consumer and the messages it hands over.
type source struct {
	stream   string
	consumer jetstream.Consumer
	cc       jetstream.ConsumeContext
	msgs     chan jetstream.Msg
	stop     chan struct{}
}

// open starts both consumers after from, or after the streams' current ends.
func (c *streamConn) open(ctx context.Context, from *position) error {
	var err error
	if c.tracking, c.pos.tracking, err = c.openSource(ctx, events.StreamTracking, events.FilterContainer, from, func(p position) uint64 { return p.tracking }); err != nil {
		return err
	}
	c.schedule, c.pos.schedule, err = c.openSource(ctx, events.StreamSchedule, events.FilterSchedule, from, func(p position) uint64 { return p.schedule })
	return err
}

// openSource starts an ordered consumer on stream after the position from names, or after the
// stream's last message (the connection's "now": its id then names both positions). A position
// past the stream's end (a forged id, a stream recreated) is taken as its end.
func (c *streamConn) openSource(ctx context.Context, stream, filter string, from *position, seq func(position) uint64) (*source, uint64, error) {
	st, err := c.s.js.Stream(ctx, stream)
	if err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	last := st.CachedInfo().State.LastSeq
	after := last
	if from != nil && seq(*from) < last {
		after = seq(*from)
	}
	cons, err := c.s.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		InactiveThreshold: consumerIdle,
	})
	if err != nil {
		return nil, 0, fmt.Errorf("consumer on %s: %w", stream, err)
	}
	src := &source{stream: stream, consumer: cons, msgs: make(chan jetstream.Msg), stop: make(chan struct{})}
	src.cc, err = cons.Consume(func(m jetstream.Msg) {
		select {
		case src.msgs <- m:
		case <-src.stop:
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("consume %s: %w", stream, err)
	}
	return src, after, nil
}

// close stops both consumers and deletes them from the server.
func (c *streamConn) close() {
	for _, src := range []*source{c.tracking, c.schedule} {
		if src == nil {
			continue
		}
		close(src.stop)
		src.cc.Stop()
		select {
		case <-src.cc.Closed():
		case <-time.After(cleanupTimeout):
		}
		if info := src.consumer.CachedInfo(); info != nil {
			ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
			if err := c.s.js.DeleteConsumer(ctx, src.stream, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
				c.s.log.Warn("stream: delete consumer", "stream", src.stream, "consumer", info.Name, "error", err)
			}
			cancel()
		}
	}
}

// write sends one SSE block and flushes it.
func (c *streamConn) write(rc *http.ResponseController, w http.ResponseWriter, block string) error {
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write([]byte(block)); err != nil {
		return err
	}
	return rc.Flush()
}

// handle moves the position past msg and returns the SSE block to send for it, or "" when
// the client is not to see it. An event that cannot be decoded is passed over, as the
// delivery consumers do.
func (c *streamConn) handle(ctx context.Context, msg jetstream.Msg) (string, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return "", fmt.Errorf("metadata: %w", err)
	}
	if meta.Stream == events.StreamTracking {
		c.pos.tracking = meta.Sequence.Stream
	} else {
		c.pos.schedule = meta.Sequence.Stream
	}
	ev, err := events.Decode(msg.Headers().Get(events.HeaderContentType), msg.Data())
	if err != nil {
		return "", nil
	}
	f, tenant, ok, err := c.visible(ctx, ev, msg.Subject())
	if err != nil || !ok || !c.filter.match(f) {
		return "", err
	}
	body, err := envelopeBody(ev, f, tenant)
	if err != nil {
		return "", nil // cannot happen for a decoded event; never worth ending the stream
	}
	return "id: " + c.pos.String() + "\nevent: " + f.code + "\ndata: " + string(body) + "\n\n", nil
}

// visible decides whether the client may see ev: a shipper its own containers (by the
// ownership projection) and its own schedule events; dispatchers and admins everything,
// departures included. tenant is the envelope's tenant attribute: the shipper's, or for the
// other roles the event's own ("" for container events and departures).
func (c *streamConn) visible(ctx context.Context, ev events.Event, subject string) (f facts, tenant string, ok bool, err error) {
	f, ok = factsOf(ev)
	if !ok {
		dep, isDeparture := ev.(*schedulev1.DepartureEvent)
		if !isDeparture || c.p.Role == auth.RoleShipper {
			return f, "", false, nil
		}
		return departureFacts(dep, subject), "", true, nil
	}
	if c.p.Role != auth.RoleShipper {
		return f, f.tenant, true, nil
	}
	if !f.byOwnership {
		return f, c.p.Tenant, f.tenant != "" && f.tenant == c.p.Tenant, nil
	}
	owned, err := c.owns(ctx, f.container)
	return f, c.p.Tenant, owned, err
}

// owns reports whether the client's tenant owns container, remembering the answer briefly so
// a busy stream does not ask for every event, and a new booking still shows up in seconds.
func (c *streamConn) owns(ctx context.Context, container string) (bool, error) {
	now := time.Now()
	if e, ok := c.owned[container]; ok && now.Sub(e.at) < ownerCacheTTL {
		return e.owned, nil
	}
	owned, err := c.s.store.Owns(ctx, c.p.Tenant, pgstore.Key{Kind: pgstore.KindContainer, Value: container})
	if err != nil {
		return false, err
	}
	if len(c.owned) >= ownerCacheMax {
		clear(c.owned)
	}
	c.owned[container] = ownedEntry{owned: owned, at: now}
	return owned, nil
}

// departureFacts describes a departure change for the stream: DEPA, ARRI, DELAY, CANCELLED,
// else DEPARTURE.
func departureFacts(ev *schedulev1.DepartureEvent, subject string) facts {
	f := facts{code: TypeDeparture, source: "scoda/scheduling", subject: ev.GetDepartureId(),
		ceType: "scoda.schedule." + strings.TrimPrefix(subject, events.PrefixSchedule)}
	switch ev.GetChange().(type) {
	case *schedulev1.DepartureEvent_Departed:
		f.code = "DEPA"
	case *schedulev1.DepartureEvent_Arrived:
		f.code = "ARRI"
	case *schedulev1.DepartureEvent_Delayed:
		f.code = TypeDelay
	case *schedulev1.DepartureEvent_Cancelled:
		f.code = TypeCancelled
	}
	return f
}
