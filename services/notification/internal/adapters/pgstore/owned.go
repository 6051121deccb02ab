package pgstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ownedChannel is the channel a container's new owner is announced on (migration 000007's
// trigger): owned_<schema>, cut to 63 bytes, the payload the container number.
const ownedChannel = `left('owned_' || current_schema(), 63)`

// OwnedSet is every container some tenant owns, held in memory so that matching a batch of
// container events asks PostgreSQL for owners only for the containers that have one (see
// ContainerOwners). It may hold more than the database (a container added by an Own whose
// transaction then rolled back): it is only ever used to leave out containers it does not
// hold, and a container too many costs one lookup that finds nothing.
//
// The set is in sync only while its listener (Listen) is: it listens for new owners before it
// reads the ones already there, and stops being in sync the moment its connection fails, until
// it listens and reads again. Out of sync, ContainerOwners asks the database for every
// container, as it would without the set.
//
// A container owned by another process's transaction is in the set once that transaction's
// notification arrives, milliseconds after its commit. A container event matched in between
// misses the new owner, as it would if it had been matched before the schedule event that made
// the owner was consumed: the two come on different consumers, in no order between them.
type OwnedSet struct {
	mu     sync.RWMutex
	boxes  map[string]struct{}
	synced atomic.Bool
}

// NewOwnedSet returns an empty set, not in sync.
func NewOwnedSet() *OwnedSet { return &OwnedSet{boxes: map[string]struct{}{}} }

// Synced reports whether the set holds every owned container.
func (o *OwnedSet) Synced() bool { return o.synced.Load() }

// Len is how many containers the set holds.
func (o *OwnedSet) Len() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.boxes)
}

// Add puts containers in the set.
func (o *OwnedSet) Add(containers ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range containers {
		if c != "" {
			o.boxes[c] = struct{}{}
		}
	}
}

// Owned returns the containers of containers that the set holds, in their order, and whether
// the set is in sync; out of sync, it returns containers as they are.
func (o *OwnedSet) Owned(containers []string) ([]string, bool) {
	if !o.synced.Load() {
		return containers, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	var out []string
	for _, c := range containers {
		if _, ok := o.boxes[c]; ok {
			out = append(out, c)
		}
	}
	return out, true
}

// WithOwnedSet makes the store keep set up to date with its own Owns and filter ContainerOwners
// through it. The caller runs ListenOwned to keep it in sync with every other writer.
func (s *Store) WithOwnedSet(set *OwnedSet) *Store {
	c := *s
	c.owned = set
	return &c
}

// ListenOwned keeps the store's OwnedSet in sync: it LISTENs for new owners on a connection of
// its own, then reads every owned container, then marks the set in sync and adds each announced
// container until ctx ends or the connection fails. It returns then, the set out of sync; the
// caller decides whether to listen again.
func (s *Store) ListenOwned(ctx context.Context) error {
	set := s.owned
	if set == nil {
		return errors.New("listen owned: the store has no owned set")
	}
	defer set.synced.Store(false)
	return s.listen(ctx, ownedChannel, func() error {
		rows, err := s.db.Query(ctx, `SELECT DISTINCT value FROM ownership WHERE kind = $1`, KindContainer)
		if err != nil {
			return passErr("owned containers", err)
		}
		const chunk = 4096 // add in chunks: Owned is not held up for the whole read
		var boxes []string
		var box string
		_, err = pgx.ForEachRow(rows, []any{&box}, func() error {
			if boxes = append(boxes, box); len(boxes) == chunk {
				set.Add(boxes...)
				boxes = boxes[:0]
			}
			return nil
		})
		if err != nil {
			return passErr("owned containers", err)
		}
		set.Add(boxes...)
		set.synced.Store(true)
		return nil
	}, func(payload string) { set.Add(payload) })
}

// listen LISTENs on the channel that the SQL expression channel names, on a connection of its
// own, then calls started, then got with the payload of each notification, until ctx ends, the
// connection fails or started fails.
func (s *Store) listen(ctx context.Context, channel string, started func() error, got func(payload string)) error {
	pool, ok := s.db.(*pgxpool.Pool)
	if !ok {
		return errors.New("listen: the store is not on a pool")
	}
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // a listening connection never goes back to the pool
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	var name string
	if err := conn.QueryRow(ctx, `SELECT `+channel).Scan(&name); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
		return err
	}
	if err := started(); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		got(n.Payload)
	}
}
