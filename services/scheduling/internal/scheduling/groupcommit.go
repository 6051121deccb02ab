package scheduling

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Group commit of bookings. Bookings racing for one departure queue on the same segment rows,
// and each holds their locks through its commit's WAL flush, so one departure takes bookings
// one flush at a time. A groupCommit collects the bookings that arrive for a departure while
// its previous batch commits and books them together in one transaction (each in a savepoint of
// its own: pgstore.Store.BookBatch), so a flush carries many bookings. Alone, a booking commits
// at once, as before; the capacity CHECKs decide every booking exactly as they do alone, in the
// order the bookings arrived.
//
// Each departure with bookings waiting has one goroutine committing its batches; it ends when
// the queue is empty. A caller that gives up (its context ends) while its booking still waits is
// taken out of the queue; one whose booking is already in a committing batch waits for the
// verdict, so it never answers "failed" for a booking that was made.
type groupCommit struct {
	book     func(ctx context.Context, departureID string, attempts []pgstore.BookingAttempt) ([]pgstore.BookingResult, error)
	maxBatch int
	timeout  time.Duration // bound on one batch's transaction

	mu      sync.Mutex
	waiting map[string][]*pendingBooking // by departure
	running map[string]bool              // a goroutine commits this departure's batches
}

type pendingBooking struct {
	attempt pgstore.BookingAttempt
	span    trace.SpanContext
	done    chan pgstore.BookingResult // buffered: the committer never blocks
}

func newGroupCommit(store *pgstore.Store) *groupCommit {
	return &groupCommit{book: store.BookBatch, maxBatch: 64, timeout: 30 * time.Second,
		waiting: map[string][]*pendingBooking{}, running: map[string]bool{}}
}

// Book books a through the departure's queue and returns its own result.
func (g *groupCommit) Book(ctx context.Context, a pgstore.BookingAttempt) (pgstore.Booking, error) {
	dep := a.Spec.DepartureID
	p := &pendingBooking{attempt: a, span: trace.SpanContextFromContext(ctx), done: make(chan pgstore.BookingResult, 1)}
	g.mu.Lock()
	g.waiting[dep] = append(g.waiting[dep], p)
	if !g.running[dep] {
		g.running[dep] = true
		go g.commit(dep)
	}
	g.mu.Unlock()

	select {
	case r := <-p.done:
		return r.Booking, r.Err
	case <-ctx.Done():
		g.mu.Lock()
		i := slices.Index(g.waiting[dep], p)
		if i >= 0 {
			g.waiting[dep] = slices.Delete(g.waiting[dep], i, i+1)
		}
		g.mu.Unlock()
		if i >= 0 {
			return pgstore.Booking{}, ctx.Err() // never tried
		}
		r := <-p.done // in a batch now: its verdict comes within g.timeout
		return r.Booking, r.Err
	}
}

// commit books dep's waiting bookings, a batch at a time, until none are left.
func (g *groupCommit) commit(dep string) {
	for {
		g.mu.Lock()
		batch := g.waiting[dep]
		if len(batch) == 0 {
			delete(g.waiting, dep)
			delete(g.running, dep)
			g.mu.Unlock()
			return
		}
		if len(batch) > g.maxBatch {
			batch = batch[:g.maxBatch]
		}
		g.waiting[dep] = g.waiting[dep][len(batch):]
		g.mu.Unlock()
		g.commitBatch(dep, batch)
	}
}

func (g *groupCommit) commitBatch(dep string, batch []*pendingBooking) {
	links := make([]trace.Link, 0, len(batch))
	attempts := make([]pgstore.BookingAttempt, len(batch))
	for i, p := range batch {
		attempts[i] = p.attempt
		if p.span.IsValid() {
			links = append(links, trace.Link{SpanContext: p.span})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	ctx, span := otel.Tracer("github.com/scodalabs/scoda/services/scheduling").Start(ctx, "scheduling.book_batch",
		trace.WithLinks(links...), trace.WithAttributes(attribute.String("scoda.departure_id", dep),
			attribute.Int("scoda.batch_size", len(batch))))
	defer span.End()
	results, err := g.book(ctx, dep, attempts)
	for i, p := range batch {
		if err != nil {
			p.done <- pgstore.BookingResult{Err: err}
		} else {
			p.done <- results[i]
		}
	}
	if err != nil {
		span.RecordError(err)
	}
}
