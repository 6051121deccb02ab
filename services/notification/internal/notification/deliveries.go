package notification

// Deliveries: matching events to subscriptions, and sending them.
//
// Matching (MatchBatch, a batch of events at a time) runs in the consumer's inbox transaction,
// so an event yields its deliveries exactly once: one row per (subscription, event), never two (unique (subscription_id,
// event_id), ON CONFLICT DO NOTHING). A subscription only ever gets its own tenant's events:
// a container event goes to the subscriptions of each tenant owning the container (ownership
// projected from scheduling's booking and shipment events), a booking, ETA, shipment or
// exception event to those of the tenant in its envelope, and the query itself requires the
// subscription's tenant to be that tenant, whatever keys it listens on. Departure events are
// hub-wide (no tenant) and go to no shipper directly: the booking-level ETA and exception events
// derived from them carry what a shipper needs.
//
// Sending (Dispatcher) takes due deliveries that head their lane (the deliveries of one
// subscription about one container, or booking, document or shipment without a container): a
// later event is never sent while an earlier one of its lane is still pending (it is inserted
// blocked, and unblocked when the one ahead is done, so that claims never wade through the
// lanes behind). A claimed delivery is leased (its next_attempt_at moved past the attempt's
// timeout). An accepted attempt is recorded with the others accepted meanwhile, in one
// transaction (the attempts, the deliveries' new state, the end of their subscriptions' runs
// of failures); a failed one alone, under its subscription's row lock, with the subscription's
// failure count and any event its verdict enqueues. If the process dies between claim and
// record, the lease expires and the delivery is sent again with the same id: the only way a
// receiver sees an event twice, and then with the same webhook-id, its idempotency key.
//
// Outcomes: any 2xx succeeds (also for the DCSA scheme, whose receivers are expected to answer
// 204); 410 Gone cancels the delivery and disables the subscription; anything else (3xx, which
// is never followed, 4xx, 5xx, timeouts, refused addresses) is retried after
// Config.RetrySchedule (±20% jitter), or after Retry-After (seconds or an HTTP date, at most
// 24 h) when that is later; after the last attempt the delivery is dead-lettered. A
// subscription whose deliveries have all failed for Config.DisableAfter is disabled. Dead
// letters and disabled subscriptions are announced on the NOTIFICATION stream through the
// outbox. A re-sent dead letter (retry, replay) gets one more attempt; if it fails it is dead
// again.
//
// Tracing: matching keeps the W3C trace context of the event's consumer span with each delivery
// (deliveries.traceparent, tracestate), and every attempt at sending it is a CLIENT span
// "webhook POST" started as a child of that context, so the webhook call is in the event's
// trace (ingest -> publish -> consume -> webhook), each retry a sibling span under the same
// parent. The receiver gets the attempt span's traceparent (and tracestate) header; baggage is
// never sent outside.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/app"
	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/postgres"
	"github.com/scodalabs/scoda/pkg/rfc3339"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/internal/egress"
)

// mountDeliveries registers the delivery routes: a shipper sees and re-sends its own
// subscriptions' deliveries (another tenant's subscription is 404), an admin every one.
func mountDeliveries(route router, n *Notifier) {
	route("GET /v1/subscriptions/{id}/deliveries", "deliveries", makeDeliveriesEndpoint(n), decodeDeliveries, auth.RoleShipper)
	route("POST /v1/subscriptions/{id}/deliveries/{deliveryId}/retry", "delivery.retry", makeRetryEndpoint(n), decodeRetry, auth.RoleShipper)
	route("POST /v1/subscriptions/{id}/deliveries/replay", "deliveries.replay", makeReplayEndpoint(n), decodeReplay, auth.RoleShipper)
}

// MatchBatch records, in the inbox transaction tx, one delivery per subscription each event of
// evs matches, as Match would for each event in turn, with a constant number of statements
// whatever the batch's size: one for the owners of its containers (with their bookings and
// documents), one matching every (event, tenant) against subscription_keys, one inserting
// every delivery, and at most one notification of the dispatchers. Envelopes are built only
// for the (event, tenant) pairs some subscription takes. Deliveries are inserted in the order
// of evs (stream order), which is the order of their lanes (see InsertMatched). An event id
// seen earlier in evs is skipped, as the inbox would skip it. Each delivery keeps the trace
// context of its own event's span (BatchEvent.Ctx).
func (n *Notifier) MatchBatch(ctx context.Context, tx pgx.Tx, evs []app.BatchEvent) error {
	type item struct {
		ev  app.BatchEvent
		id  string
		f   facts
		ref []pgstore.Key // the event's own keys
	}
	items := make([]item, 0, len(evs))
	seen := make(map[string]bool, len(evs))
	var containers []string
	for _, e := range evs {
		id := events.EventID(e.Event)
		if seen[id] {
			continue
		}
		seen[id] = true
		f, ok := factsOf(e.Event)
		if !ok {
			continue
		}
		items = append(items, item{ev: e, id: id, f: f, ref: refsOf(f)})
		if f.byOwnership {
			containers = append(containers, f.container)
		}
	}
	owners, err := n.store.ContainerOwners(ctx, tx, containers)
	if err != nil {
		return err
	}
	// A target is one event for one tenant: the tenant of a schedule event, each owner of a
	// container event (whose bookings and documents are keys too).
	type target struct {
		item   int
		tenant string
	}
	var targets []target
	var match []pgstore.MatchTarget
	for i, it := range items {
		tenants := []pgstore.ContainerOwner{{Tenant: it.f.tenant}}
		if it.f.byOwnership {
			tenants = owners[it.f.container]
		}
		for _, o := range tenants {
			if o.Tenant == "" {
				continue // an event of no tenant goes to no shipper
			}
			keys := make([]pgstore.Key, 0, len(it.ref)+1+len(o.Refs))
			keys = append(append(append(keys, it.ref...), pgstore.Key{Kind: pgstore.KindTenant, Value: o.Tenant}), o.Refs...)
			targets = append(targets, target{item: i, tenant: o.Tenant})
			match = append(match, pgstore.MatchTarget{Tenant: o.Tenant, EventType: it.f.code, Keys: keys})
		}
	}
	if len(match) == 0 {
		return nil
	}
	subs, err := n.store.MatchTargets(ctx, tx, match)
	if err != nil {
		return err
	}
	var ds []pgstore.Matched
	for t, ids := range subs { // targets are in the order of their events
		if len(ids) == 0 {
			continue
		}
		it := items[targets[t].item]
		body, err := envelopeBody(it.ev.Event, it.f, targets[t].tenant)
		if err != nil {
			return err
		}
		parent, state := traceContextOf(it.ev.Ctx)
		for _, sub := range ids {
			ds = append(ds, pgstore.Matched{SubscriptionID: sub, Tenant: targets[t].tenant, EventID: it.id,
				EventType: it.f.code, Subject: it.f.subject, Lane: it.f.lane, Body: body,
				TraceParent: parent, TraceState: state})
		}
	}
	_, err = n.store.InsertMatched(ctx, tx, ds)
	return err
}

// OwnAndMatch handles a batch of schedule events: each makes its tenant the owner of what it
// is about (Own), in stream order, then the batch is matched (MatchBatch). Owning the whole
// batch before matching it gives what owning then matching each event in turn gives: a
// schedule event is matched by its envelope's tenant and its own references, never through the
// ownership projection (only container events, which come on the tracking consumer, are), so
// no event's matching reads what an Own of the batch wrote.
func (n *Notifier) OwnAndMatch(ctx context.Context, tx pgx.Tx, evs []app.BatchEvent) error {
	for _, ev := range evs {
		if err := n.Own(ev.Ctx, tx, ev.Event); err != nil {
			return err
		}
	}
	return n.MatchBatch(ctx, tx, evs)
}

// refsOf returns the keys an event names itself: its container, booking and document.
func refsOf(f facts) []pgstore.Key {
	var refs []pgstore.Key
	for _, k := range []pgstore.Key{{Kind: pgstore.KindContainer, Value: f.container},
		{Kind: pgstore.KindBooking, Value: f.booking}, {Kind: pgstore.KindDocument, Value: f.document}} {
		if k.Value != "" {
			refs = append(refs, k)
		}
	}
	return refs
}

// Match records, in the inbox transaction tx, one delivery per subscription the event
// matches: MatchBatch for one event, with its own queries per owner. The consumers use
// MatchBatch; Match is the reference the tests hold MatchBatch to.
func (n *Notifier) Match(ctx context.Context, tx pgx.Tx, ev events.Event) error {
	f, ok := factsOf(ev)
	if !ok {
		return nil
	}
	tenants := []string{f.tenant}
	if f.byOwnership {
		owners, err := n.store.Owners(ctx, tx, pgstore.KindContainer, f.container)
		if err != nil {
			return err
		}
		tenants = owners
	}
	refs := refsOf(f)
	parent, state := traceContextOf(ctx)
	for _, tenant := range tenants {
		if tenant == "" {
			continue // an event of no tenant goes to no shipper
		}
		body, err := envelopeBody(ev, f, tenant)
		if err != nil {
			return err
		}
		keys := append(append([]pgstore.Key(nil), refs...), pgstore.Key{Kind: pgstore.KindTenant, Value: tenant})
		if f.byOwnership {
			// A container event names the container only: the tenant's bookings and transport
			// documents it travels under are keys too.
			more, err := n.store.ReferencesOf(ctx, tx, tenant, f.container)
			if err != nil {
				return err
			}
			keys = append(keys, more...)
		}
		if _, err := n.store.InsertDeliveries(ctx, tx, pgstore.NewDelivery{Tenant: tenant, EventID: events.EventID(ev),
			EventType: f.code, Subject: f.subject, Lane: f.lane, Body: body, Keys: keys,
			TraceParent: parent, TraceState: state}); err != nil {
			return err
		}
	}
	return nil
}

// Bounds of the dispatcher.
const (
	// leaseMargin is added to the attempt timeout to lease a claimed delivery: long enough for
	// the answer to be recorded, short enough that a crash delays the retry only a little.
	leaseMargin = 30 * time.Second
	// claimLinger is the longest a busy dispatcher waits to claim for free slots, gathering
	// them into one claim.
	claimLinger = 10 * time.Millisecond
	// recordTimeout bounds recording an attempt (also while shutting down).
	recordTimeout = 10 * time.Second
	// maxRetryAfter caps a receiver's Retry-After.
	maxRetryAfter = 24 * time.Hour
	// jitter spreads retries by ±20%.
	jitter = 0.2
	// userAgent names SCODA to receivers.
	userAgent = "SCODA-Webhooks/1.0"
)

// Reasons a subscription is disabled by the dispatcher (subscriptions.disabled_reason).
const (
	ReasonGone = "endpoint answered 410 Gone"
)

// Dispatcher sends due deliveries, retries failed ones and dead-letters the exhausted.
func (n *Notifier) Dispatcher(log *slog.Logger) app.Worker {
	return app.WorkerFunc(func(ctx context.Context) error {
		workers := max(n.cfg.Workers, 1)
		// One receiver may have every send in flight: it keeps as many connections.
		client := egress.NewClient(egress.Options{AllowHTTP: n.cfg.AllowHTTP, AllowedNets: n.cfg.AllowedNets,
			Timeout: n.cfg.Timeout, IdleConnsPerHost: workers})
		d := &dispatcher{n: n, log: log.With("component", "dispatcher"), tracer: otel.Tracer(tracerName), client: client,
			wake: make(chan struct{}, 1), slots: make(chan struct{}, workers), accepted: make(chan acceptedAttempt, 4*workers)}
		return d.run(ctx)
	})
}

type dispatcher struct {
	n      *Notifier
	log    *slog.Logger
	tracer trace.Tracer
	client *http.Client
	wake   chan struct{}
	slots  chan struct{} // one per delivery in flight
	// accepted are the attempts the endpoints accepted, waiting to be recorded together
	// (recordAccepted); a send finding it full waits, holding its slot.
	accepted chan acceptedAttempt
	// saturated: the last claim took as many deliveries as there were free slots, so more
	// may be due, and a finished send wakes the dispatcher to claim again. Otherwise nothing
	// is due but what a wake-up announces (new deliveries, lanes unblocked), and a finished
	// send claims nothing: it stays quiet rather than asking the database for nothing.
	saturated atomic.Bool
}

// acceptedAttempt is an attempt the endpoint accepted, waiting to be recorded.
type acceptedAttempt struct {
	ctx     context.Context // the attempt's: its span is the parent of what is logged about it
	claim   pgstore.Claim
	result  result
	attempt pgstore.Attempt
}

// maxRecorded bounds the accepted attempts recorded in one transaction.
const maxRecorded = 500

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run claims and sends until ctx ends, then waits for the sends in flight (each bounded by
// the attempt timeout) to be recorded.
func (d *dispatcher) run(ctx context.Context) error {
	var listeners, sends sync.WaitGroup
	listeners.Go(func() { d.listen(ctx) })
	poll := d.n.cfg.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	sendCtx := context.WithoutCancel(ctx) // an attempt in flight finishes (within its timeout)
	var recorder sync.WaitGroup
	recorder.Go(func() { d.recordAccepted(sendCtx) })
	// A claim is a statement whatever its size: while sends are in flight, claiming waits for a
	// quarter of the slots to be free, or claimLinger, so that a busy dispatcher claims in
	// batches rather than once per finished send. An idle one claims whatever is due at once.
	batch := max(1, cap(d.slots)/4)
	var lastClaim time.Time
	for ctx.Err() == nil {
		free := cap(d.slots) - len(d.slots) // only this goroutine takes slots
		var claimed int
		wait := time.Duration(0) // > 0: slots are free, claim after this unless woken first
		if free >= batch || free == cap(d.slots) || (free > 0 && time.Since(lastClaim) >= claimLinger) {
			now := d.n.now()
			lastClaim = time.Now()
			claims, err := d.n.store.ClaimDeliveries(ctx, now, now.Add(d.timeout()+leaseMargin), free)
			if err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "claiming deliveries failed", "error", err)
			}
			for _, c := range claims {
				d.slots <- struct{}{}
				sends.Go(func() {
					defer func() {
						<-d.slots
						if d.saturated.Load() {
							d.poke()
						}
					}()
					d.deliver(sendCtx, c)
				})
			}
			claimed = len(claims)
			d.saturated.Store(claimed == free)
			if claimed == free {
				continue // there may be more due
			}
		} else if free > 0 {
			wait = claimLinger - time.Since(lastClaim)
		}
		var linger <-chan time.Time
		if wait > 0 {
			linger = time.After(wait)
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-ticker.C:
			d.unblock(ctx)
		case <-linger:
		}
	}
	sends.Wait()
	close(d.accepted) // no send is left to add one
	recorder.Wait()
	listeners.Wait()
	d.client.CloseIdleConnections()
	return nil
}

// unblock unblocks the deliveries that head their lanes but were left blocked (see
// pgstore.UnblockDeliveries): the backstop, at each poll, of the looks after each commit.
func (d *dispatcher) unblock(ctx context.Context) {
	n, err := d.n.store.UnblockDeliveries(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		d.log.WarnContext(ctx, "unblocking deliveries failed", "error", err)
	case n > 0:
		d.log.DebugContext(ctx, "deliveries unblocked", "deliveries", n)
	}
}

// listen turns the database's notifications of new deliveries into wake-ups; while the
// listener is down the dispatcher polls.
func (d *dispatcher) listen(ctx context.Context) {
	keepListening(ctx, d.log, "delivery listener lost, polling until it is back", func(ctx context.Context) error {
		return d.n.store.ListenDeliveries(ctx, d.poke)
	})
}

// keepListening runs listen until ctx ends, again after each failure, logging it (as lost)
// and waiting from 100 ms, doubled at each failure in a row up to 30 s; a listener that was up
// for a minute starts the waits again.
func keepListening(ctx context.Context, log *slog.Logger, lost string, listen func(context.Context) error) {
	const first = 100 * time.Millisecond
	pause := first
	for ctx.Err() == nil {
		start := time.Now()
		err := listen(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			pause = first
		}
		log.WarnContext(ctx, lost, "error", err, "retry_in", pause.String())
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		pause = min(2*pause, 30*time.Second)
	}
}

func (d *dispatcher) timeout() time.Duration {
	if d.n.cfg.Timeout > 0 {
		return d.n.cfg.Timeout
	}
	return egress.DefaultTimeout
}

// result is what one attempt got.
type result struct {
	status     int // 0: no HTTP answer
	latency    time.Duration
	err        string
	failure    notificationv1.DeliveryFailure
	response   []byte
	retryAfter time.Duration     // 0: none given
	span       trace.SpanContext // the attempt's span
}

// deliver makes one attempt at c and records it, both in the trace of the event c delivers.
func (d *dispatcher) deliver(ctx context.Context, c pgstore.Claim) {
	ctx = withStoredTrace(ctx, c)
	started := d.n.now()
	r := d.send(ctx, c, started)
	a := pgstore.Attempt{StartedAt: started, LatencyMS: int(r.latency.Milliseconds()), Error: r.err,
		Response: strings.ToValidUTF8(string(r.response), "\uFFFD")}
	if r.status != 0 {
		a.StatusCode = &r.status
	}
	if r.span.IsValid() {
		// What the attempt leads to (a dead letter, a disabled subscription) is announced in
		// the attempt's trace: the outbox stores this context with the event.
		ctx = trace.ContextWithSpanContext(ctx, r.span)
	}
	if success(r.status) {
		d.accepted <- acceptedAttempt{ctx: ctx, claim: c, result: r, attempt: a}
		return
	}
	d.record(ctx, c, r, a)
	d.poke() // a delivery given up on may have unblocked the next of its lane
}

// record records attempt a at c, whose result was r, in a transaction of its own under the
// subscription's row lock, where its verdict is decided: the way of every failed attempt.
func (d *dispatcher) record(ctx context.Context, c pgstore.Claim, r result, a pgstore.Attempt) {
	rctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	recorded, err := d.n.store.RecordAttempt(rctx, c, a, func(tx pgx.Tx, h pgstore.SubscriptionHealth) (pgstore.Verdict, error) {
		return d.n.verdict(rctx, tx, c, r, a.StartedAt, h)
	})
	switch {
	case errors.Is(err, pgstore.ErrLanesNotRechecked):
		d.log.WarnContext(ctx, "a delivery attempt was recorded but its lane not looked at again; the next poll will",
			"delivery_id", c.ID, "error", err)
	case err != nil:
		// Not recorded: the lease expires and the delivery is sent again, with the same id.
		d.log.ErrorContext(ctx, "recording a delivery attempt failed", "delivery_id", c.ID, "error", err)
	case !recorded:
		d.log.InfoContext(ctx, "delivery attempt superseded", "delivery_id", c.ID)
	}
}

// recordAccepted records the accepted attempts as they come, many in one transaction
// (pgstore.RecordSuccesses): it takes what is waiting, up to maxRecorded, records it, and
// looks again, so the busier the dispatcher, the larger the batches, with no wait added when
// it is idle. After a batch that unblocked deliveries (the next of a lane whose head is done
// now) the dispatcher is woken to claim them. If a batch cannot be recorded together, each
// attempt is recorded alone (record). It returns when d.accepted is closed and drained.
func (d *dispatcher) recordAccepted(ctx context.Context) {
	batch := make([]acceptedAttempt, 0, maxRecorded)
	for s := range d.accepted {
		batch = append(batch[:0], s)
	more:
		for len(batch) < maxRecorded {
			select {
			case s, ok := <-d.accepted:
				if !ok {
					break more
				}
				batch = append(batch, s)
			default:
				break more
			}
		}
		if d.recordBatch(ctx, batch) {
			d.poke()
		}
	}
}

// recordBatch records batch and reports whether deliveries may have become due: some were
// unblocked, or recording failed and each attempt was recorded alone.
func (d *dispatcher) recordBatch(ctx context.Context, batch []acceptedAttempt) (mayBeDue bool) {
	done := make([]pgstore.Success, len(batch))
	for i, s := range batch {
		done[i] = pgstore.Success{Claim: s.claim, Attempt: s.attempt}
	}
	rctx, cancel := context.WithTimeout(ctx, recordTimeout)
	recorded, n, err := d.n.store.RecordSuccesses(rctx, done)
	cancel()
	if errors.Is(err, pgstore.ErrLanesNotRechecked) {
		d.log.WarnContext(ctx, "accepted attempts were recorded but their lanes not looked at again; the next poll will",
			"attempts", len(batch), "error", err)
		err, n = nil, 1 // claim again, in case
	}
	if err != nil {
		d.log.WarnContext(ctx, "recording accepted attempts together failed; recording them one by one",
			"attempts", len(batch), "error", err)
		for _, s := range batch {
			d.record(s.ctx, s.claim, s.result, s.attempt)
		}
		return true
	}
	for _, s := range batch {
		if !recorded[s.claim.ID] {
			d.log.InfoContext(s.ctx, "delivery attempt superseded", "delivery_id", s.claim.ID)
		}
	}
	return n > 0
}

// send signs and posts c's body to its endpoint through the guarded client, signed as the
// test event is (signDelivery: every active secret during a rotation), inside the attempt's
// CLIENT span, whose trace context the request carries.
func (d *dispatcher) send(ctx context.Context, c pgstore.Claim, started time.Time) (r result) {
	ctx, span := d.startAttempt(ctx, c)
	defer func() { r.span = span.SpanContext(); endAttempt(span, r) }()
	body := c.Body
	if c.Scheme == pgstore.SchemeDCSA {
		body = dcsaBody(c.Body)
	}
	hdr, err := signDelivery(c.Subscription(), c.ID, started, body)
	if err != nil {
		return result{err: "cannot sign: " + err.Error(), failure: notificationv1.DeliveryFailure_DELIVERY_FAILURE_UNSPECIFIED}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return result{err: "bad callback URL", failure: notificationv1.DeliveryFailure_DELIVERY_FAILURE_CONNECTION}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	traceContext.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := d.client.Do(req)
	r.latency = time.Since(started)
	if resp != nil {
		r.status = resp.StatusCode
		r.retryAfter = retryAfter(resp.Header.Get("Retry-After"), d.n.now())
	}
	if err != nil {
		r.err, r.failure = describe(err)
		if resp != nil && resp.StatusCode >= 300 && resp.StatusCode < 400 {
			r.failure = notificationv1.DeliveryFailure_DELIVERY_FAILURE_HTTP_STATUS
		}
		return r
	}
	r.response, err = egress.ReadBody(resp, d.n.cfg.ResponseLimit)
	if err != nil && r.err == "" && !success(r.status) {
		r.err = "reading the answer: " + err.Error()
	}
	if !success(r.status) {
		r.failure = notificationv1.DeliveryFailure_DELIVERY_FAILURE_HTTP_STATUS
		if r.err == "" {
			r.err = "endpoint answered " + strconv.Itoa(r.status)
		}
	}
	return r
}

func success(status int) bool { return status >= 200 && status < 300 }

// tracerName names the instrumentation of the dispatcher's spans.
const tracerName = "github.com/scodalabs/scoda/services/notification/internal/notification"

// traceContext is the only propagator used for deliveries: W3C TraceContext (traceparent,
// tracestate). Baggage is neither stored with a delivery nor sent to a receiver.
var traceContext propagation.TraceContext

// Attributes of an attempt's span that semconv has no name for.
const (
	keyDeliveryID     = attribute.Key("scoda.delivery_id")
	keySubscriptionID = attribute.Key("scoda.subscription_id")
	keyAttempt        = attribute.Key("scoda.attempt")
	keyEventID        = attribute.Key("scoda.event_id")
)

// traceContextOf returns the W3C traceparent and tracestate of the span in ctx ("" when there
// is none).
func traceContextOf(ctx context.Context) (parent, state string) {
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return carrier.Get("traceparent"), carrier.Get("tracestate")
}

// withStoredTrace returns ctx carrying the trace context stored with c (the consumer span that
// matched its event) as the remote parent; ctx unchanged when none was stored or it is invalid.
func withStoredTrace(ctx context.Context, c pgstore.Claim) context.Context {
	if c.TraceParent == "" {
		return ctx
	}
	return traceContext.Extract(ctx, propagation.MapCarrier{"traceparent": c.TraceParent, "tracestate": c.TraceState})
}

// startAttempt starts the CLIENT span of one attempt at c, a child of the trace context in ctx.
func (d *dispatcher) startAttempt(ctx context.Context, c pgstore.Claim) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodPost,
		keyDeliveryID.String(c.ID),
		keySubscriptionID.String(c.SubscriptionID),
		keyEventID.String(c.EventID),
		keyAttempt.Int(c.Attempts + 1),
	}
	if u, err := url.Parse(c.CallbackURL); err == nil {
		attrs = append(attrs, semconv.URLFull(spanURL(u)), semconv.ServerAddress(u.Hostname()))
		if port := u.Port(); port != "" {
			if p, err := strconv.Atoi(port); err == nil {
				attrs = append(attrs, semconv.ServerPort(p))
			}
		} else if u.Scheme == "https" {
			attrs = append(attrs, semconv.ServerPort(443))
		} else if u.Scheme == "http" {
			attrs = append(attrs, semconv.ServerPort(80))
		}
	}
	return d.tracer.Start(ctx, "webhook POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// spanURL is the callback URL as a span may show it: without user info, query or fragment,
// which may carry credentials.
func spanURL(u *url.URL) string {
	clean := *u
	clean.User, clean.RawQuery, clean.ForceQuery, clean.Fragment, clean.RawFragment = nil, "", false, "", ""
	return clean.String()
}

// endAttempt records the outcome of attempt r on its span and ends it. Anything but a 2xx is
// an error, as the dispatcher counts it; error.type is the status code or the failure's class.
func endAttempt(span trace.Span, r result) {
	defer span.End()
	if r.status != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(r.status))
	}
	if success(r.status) {
		return
	}
	errType := "_OTHER"
	switch {
	case r.status != 0:
		errType = strconv.Itoa(r.status)
	case r.failure == notificationv1.DeliveryFailure_DELIVERY_FAILURE_TIMEOUT:
		errType = "timeout"
	case r.failure == notificationv1.DeliveryFailure_DELIVERY_FAILURE_BLOCKED_ADDRESS:
		errType = "blocked_address"
	case r.failure == notificationv1.DeliveryFailure_DELIVERY_FAILURE_CONNECTION:
		errType = "connection"
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(errType))
	span.SetStatus(codes.Error, r.err)
}

// describe turns a client error into a short message for the subscription's owner (without
// the URL, which may carry credentials) and its class.
func describe(err error) (string, notificationv1.DeliveryFailure) {
	var refused *egress.RefusedError
	var ue *url.Error
	switch {
	case errors.As(err, &refused):
		return "refused: " + refused.Reason, notificationv1.DeliveryFailure_DELIVERY_FAILURE_BLOCKED_ADDRESS
	case errors.Is(err, egress.ErrRedirect):
		return "answered a redirect, which is not followed", notificationv1.DeliveryFailure_DELIVERY_FAILURE_HTTP_STATUS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
		return "timeout: no answer in time", notificationv1.DeliveryFailure_DELIVERY_FAILURE_TIMEOUT
	case errors.As(err, &ue):
		return "connection failed: " + ue.Err.Error(), notificationv1.DeliveryFailure_DELIVERY_FAILURE_CONNECTION
	default:
		return "connection failed: " + err.Error(), notificationv1.DeliveryFailure_DELIVERY_FAILURE_CONNECTION
	}
}

// retryAfter parses a Retry-After header (delay in seconds, or an HTTP date) relative to now,
// capped at maxRetryAfter; 0 when absent, malformed or past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		d = time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// backoff is the wait before attempt+1 after attempt failed: the schedule's, ±20%.
func (n *Notifier) backoff(attempt int) time.Duration {
	base := n.cfg.RetrySchedule[attempt-1]
	return time.Duration(float64(base) * (1 - jitter + 2*jitter*rand.Float64()))
}

// verdict decides, under the subscription's row lock, what comes of attempt r at c, and
// enqueues the events that announce it.
func (n *Notifier) verdict(ctx context.Context, tx pgx.Tx, c pgstore.Claim, r result, started time.Time,
	h pgstore.SubscriptionHealth) (pgstore.Verdict, error) {
	attempt := c.Attempts + 1
	if success(r.status) {
		return pgstore.Verdict{Status: pgstore.DeliverySucceeded, Succeeded: true}, nil
	}
	active := h.Status == pgstore.StatusActive
	if r.status == http.StatusGone {
		v := pgstore.Verdict{Status: pgstore.DeliveryCancelled}
		if active {
			v.Disable = ReasonGone
			return v, n.enqueueDisabled(ctx, tx, c, h, started, notificationv1.SubscriptionDisabledReason_SUBSCRIPTION_DISABLED_REASON_ENDPOINT_GONE, ReasonGone)
		}
		return v, nil
	}
	var v pgstore.Verdict
	if attempt > len(n.cfg.RetrySchedule) {
		v.Status = pgstore.DeliveryDead
		if err := n.enqueueDeadLetter(ctx, tx, c, r, started, attempt); err != nil {
			return v, err
		}
	} else {
		v.Status = pgstore.DeliveryPending
		v.NextAttemptAt = started.Add(n.backoff(attempt))
		if r.retryAfter > 0 {
			if at := n.now().Add(r.retryAfter); at.After(v.NextAttemptAt) {
				v.NextAttemptAt = at
			}
		}
	}
	first := started
	if h.FirstFailureAt != nil {
		first = *h.FirstFailureAt
	}
	if active && n.cfg.DisableAfter > 0 && started.Sub(first) >= n.cfg.DisableAfter {
		v.Disable = "every delivery failed since " + first.UTC().Format(time.RFC3339)
		if err := n.enqueueDisabled(ctx, tx, c, h, started, notificationv1.SubscriptionDisabledReason_SUBSCRIPTION_DISABLED_REASON_TOO_MANY_FAILURES, v.Disable); err != nil {
			return v, err
		}
	}
	return v, nil
}

// eventID is a stable id for an event the dispatcher derives from a delivery, so recording
// the same outcome again (it cannot, in one transaction, but a replayed delivery can die
// twice) never publishes one outcome twice under two ids.
func eventID(parts ...string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:scoda:notification:"+strings.Join(parts, ":"))).String()
}

func (n *Notifier) envelopeFor(id, tenant, causation string, at time.Time) *commonv1.Envelope {
	ts := timestamppb.New(at)
	return &commonv1.Envelope{EventId: id, OccurredAt: ts, CreatedAt: ts, RecordedAt: timestamppb.New(n.now()), TenantId: tenant,
		Source: &commonv1.Source{Type: commonv1.SourceType_SOURCE_TYPE_SCODA, Id: "notification"}, CausationId: causation}
}

func (n *Notifier) enqueueDeadLetter(ctx context.Context, tx pgx.Tx, c pgstore.Claim, r result, at time.Time, attempt int) error {
	dead := &notificationv1.DeliveryDeadLettered{LastLatency: durationpb.New(r.latency), LastFailure: r.failure,
		Reason: notificationv1.DeadLetterReason_DEAD_LETTER_REASON_MAX_ATTEMPTS, DeadLetterId: c.ID}
	if r.status != 0 {
		code := int32(r.status)
		dead.LastStatusCode = &code
	}
	ev := &notificationv1.DeliveryEvent{
		Envelope:       n.envelopeFor(eventID("delivery", c.ID, "dead", strconv.Itoa(attempt)), c.Tenant, c.EventID, at),
		SubscriptionId: c.SubscriptionID, DeliveryId: c.ID, DeliveredEventId: c.EventID, Attempt: uint32(attempt),
		Outcome: &notificationv1.DeliveryEvent_DeadLettered{DeadLettered: dead}}
	return enqueue(ctx, tx, ev)
}

func (n *Notifier) enqueueDisabled(ctx context.Context, tx pgx.Tx, c pgstore.Claim, h pgstore.SubscriptionHealth, at time.Time,
	reason notificationv1.SubscriptionDisabledReason, detail string) error {
	ev := &notificationv1.SubscriptionEvent{
		Envelope:       n.envelopeFor(eventID("subscription", c.SubscriptionID, "disabled", c.ID, at.UTC().Format(time.RFC3339Nano)), h.Tenant, c.EventID, at),
		SubscriptionId: c.SubscriptionID,
		Change: &notificationv1.SubscriptionEvent_Disabled{Disabled: &notificationv1.SubscriptionDisabled{
			Reason: reason, Detail: detail, ConsecutiveFailures: uint32(h.ConsecutiveFailures + 1)}}}
	return enqueue(ctx, tx, ev)
}

// enqueue writes ev to the outbox in tx; the relay publishes it on the NOTIFICATION stream.
func enqueue(ctx context.Context, tx pgx.Tx, ev events.Event) error {
	subject, err := events.Subject(ev)
	if err != nil {
		return err
	}
	data, err := events.Marshal(ev)
	if err != nil {
		return err
	}
	hdr := nats.Header{}
	hdr.Set(events.HeaderContentType, events.ContentType(ev))
	if err := postgres.Enqueue(ctx, tx, postgres.OutboxMessage{Subject: subject, MsgID: events.EventID(ev), Header: hdr, Data: data}); err != nil {
		return fmt.Errorf("enqueue %s: %w", subject, err)
	}
	return nil
}

// DeliveryQuery selects a page of a subscription's deliveries (GET .../deliveries).
type DeliveryQuery struct {
	Status    string // pending, succeeded, dead or cancelled
	EventType string // a type code: GTIN, DEPA, ETA, ...
	Since     string // created at or after, RFC 3339
	Limit     string
	Cursor    string
}

// DeliveryPage is a page of deliveries, newest first; Next is the cursor of the next page, ""
// on the last.
type DeliveryPage struct {
	Deliveries []pgstore.Delivery
	Next       string
}

// Deliveries lists subscription sub's deliveries with their attempts, for its owner (or an admin).
func (n *Notifier) Deliveries(ctx context.Context, p auth.Principal, sub string, q DeliveryQuery) (DeliveryPage, error) {
	if _, err := n.store.Subscription(ctx, scope(p), sub); err != nil {
		return DeliveryPage{}, err
	}
	v := &apperr.ValidationError{}
	f := pgstore.DeliveryFilter{SubscriptionID: sub, Status: q.Status, EventType: strings.ToUpper(q.EventType)}
	switch q.Status {
	case "", pgstore.DeliveryPending, pgstore.DeliverySucceeded, pgstore.DeliveryDead, pgstore.DeliveryCancelled:
	default:
		v.Add("status", "is one of pending, succeeded, dead, cancelled")
	}
	f.Since = sinceField(v, q.Since)
	f.Limit, f.After = pageArgs(v, q.Limit, q.Cursor)
	if err := v.Err(); err != nil {
		return DeliveryPage{}, err
	}
	list, err := n.store.Deliveries(ctx, f)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Deliveries: list}
	if len(list) == f.Limit {
		last := list[len(list)-1]
		page.Next = paging.Cursor{At: last.CreatedAt, ID: last.ID}.Encode()
	}
	return page, nil
}

// sinceField parses an optional RFC 3339 time, noting a problem in v.
func sinceField(v *apperr.ValidationError, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := rfc3339.Parse(s)
	if err != nil {
		v.Add("since", err.Error())
		return time.Time{}
	}
	return t.Time()
}

// RetryDelivery re-queues one delivery of subscription sub to be sent now, with its id (and
// webhook-id) unchanged: a dead, cancelled or pending one; a succeeded one is a conflict.
func (n *Notifier) RetryDelivery(ctx context.Context, p auth.Principal, sub, id string) error {
	if _, err := n.store.Subscription(ctx, scope(p), sub); err != nil {
		return err
	}
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("delivery %q: %w", id, apperr.ErrNotFound)
	}
	return n.store.RetryDelivery(ctx, sub, id, n.now())
}

// ReplayRequest is the body of POST .../deliveries/replay.
type ReplayRequest struct {
	Status string `json:"status"` // dead: the only status replayed
	Since  string `json:"since"`  // optional: deliveries created at or after, RFC 3339
}

// ReplayDeliveries re-queues subscription sub's dead deliveries (created since r.Since) to be
// sent now, and says how many.
func (n *Notifier) ReplayDeliveries(ctx context.Context, p auth.Principal, sub string, r ReplayRequest) (int64, error) {
	if _, err := n.store.Subscription(ctx, scope(p), sub); err != nil {
		return 0, err
	}
	v := &apperr.ValidationError{}
	if r.Status != pgstore.DeliveryDead {
		v.Add("status", "must be dead")
	}
	since := sinceField(v, r.Since)
	if err := v.Err(); err != nil {
		return 0, err
	}
	return n.store.ReplayDeliveries(ctx, sub, pgstore.DeliveryDead, since, n.now())
}

// Transport.

type deliveriesRequest struct {
	Sub string
	DeliveryQuery
}

func decodeDeliveries(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	return deliveriesRequest{Sub: r.PathValue("id"), DeliveryQuery: DeliveryQuery{Status: q.Get("status"),
		EventType: q.Get("eventType"), Since: q.Get("since"), Limit: q.Get("limit"), Cursor: q.Get("cursor")}}, nil
}

type retryRequest struct{ Sub, ID string }

func decodeRetry(_ context.Context, r *http.Request) (any, error) {
	return retryRequest{Sub: r.PathValue("id"), ID: r.PathValue("deliveryId")}, nil
}

type replayRequest struct {
	Sub string
	ReplayRequest
}

func decodeReplay(_ context.Context, r *http.Request) (any, error) {
	var b ReplayRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return replayRequest{Sub: r.PathValue("id"), ReplayRequest: b}, nil
}

type deliveryJSON struct {
	ID            string            `json:"id"`
	EventID       string            `json:"eventId"`
	EventType     string            `json:"eventType"`
	Subject       string            `json:"subject"`
	Status        string            `json:"status"`
	NextAttemptAt *time.Time        `json:"nextAttemptAt,omitempty"`
	LastStatus    *int              `json:"lastStatusCode,omitempty"`
	LastError     string            `json:"lastError,omitempty"`
	CreatedAt     time.Time         `json:"createdAt"`
	UpdatedAt     time.Time         `json:"updatedAt"`
	Event         json.RawMessage   `json:"event"`
	Attempts      []pgstore.Attempt `json:"attempts"`
}

func toDeliveryJSON(d pgstore.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Subject: d.Subject, Status: d.Status,
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Event: json.RawMessage(d.Body), Attempts: d.History}
	if out.Attempts == nil {
		out.Attempts = []pgstore.Attempt{}
	}
	if d.Status == pgstore.DeliveryPending {
		at := d.NextAttemptAt
		out.NextAttemptAt = &at
	}
	return out
}

type deliveriesResponse struct {
	Deliveries []deliveryJSON `json:"deliveries"`
	NextCursor string         `json:"nextCursor,omitempty"`
	Err        error          `json:"-"`
}

func (r deliveriesResponse) Failed() error { return r.Err }

type retryResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Err    error  `json:"-"`
}

func (r retryResponse) Failed() error { return r.Err }

func (r retryResponse) StatusCode() int { return http.StatusAccepted }

type replayResponse struct {
	Requeued int64 `json:"requeued"`
	Err      error `json:"-"`
}

func (r replayResponse) Failed() error { return r.Err }

func (r replayResponse) StatusCode() int { return http.StatusAccepted }

func makeDeliveriesEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(deliveriesRequest)
		page, err := n.Deliveries(ctx, principal(ctx), req.Sub, req.DeliveryQuery)
		if b := kitx.Business(err); b != nil {
			return deliveriesResponse{Err: b}, nil
		} else if err != nil {
			return nil, err
		}
		out := deliveriesResponse{Deliveries: make([]deliveryJSON, len(page.Deliveries)), NextCursor: page.Next}
		for i, d := range page.Deliveries {
			out.Deliveries[i] = toDeliveryJSON(d)
		}
		return out, nil
	}
}

func makeRetryEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(retryRequest)
		err := n.RetryDelivery(ctx, principal(ctx), req.Sub, req.ID)
		if b := kitx.Business(err); b != nil {
			return retryResponse{Err: b}, nil
		} else if err != nil {
			return nil, err
		}
		return retryResponse{ID: req.ID, Status: pgstore.DeliveryPending}, nil
	}
}

func makeReplayEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req := request.(replayRequest)
		count, err := n.ReplayDeliveries(ctx, principal(ctx), req.Sub, req.ReplayRequest)
		if b := kitx.Business(err); b != nil {
			return replayResponse{Err: b}, nil
		} else if err != nil {
			return nil, err
		}
		return replayResponse{Requeued: count}, nil
	}
}
