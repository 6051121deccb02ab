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

// ownedChannel is the channel a change of a container's owners or their references is
// announced on (migration 000007's triggers): owned_<schema>, cut to 63 bytes, the payload the
// container number.
const ownedChannel = `left('owned_' || current_schema(), 63)`

// OwnedSet is every container some tenant owns, held in memory, with the owners (and their
// references) of the containers matched lately, so that matching a batch of container events
// asks PostgreSQL nothing for the containers nobody owns, and for an owned container only the
// first time, until its owners change (see ContainerOwners). The set may hold more containers
// than the database (one added by an Own whose transaction then rolled back): it is only ever
// used to leave out containers it does not hold, and a container too many costs one lookup
// that finds nothing.
//
// The set is in sync only while its listener (ListenOwned) is: it listens before it reads the
// containers already owned, and stops being in sync the moment its connection fails, until it
// listens and reads again (forgetting every owner it had). Out of sync, ContainerOwners asks
// the database for every container, as it would without the set. Any change to a container's
// owners or references, by any writer, is announced by migration 000007's triggers, and the
// listener forgets that container's owners, to be read again when next matched.
//
// A change made by another process's transaction reaches the set once that transaction's
// notification arrives, milliseconds after its commit. A container event matched in between
// goes by the owners as they were, as it would had it been matched before the schedule event
// that changed them was consumed: the two come on different consumers, in no order between
// them.
type OwnedSet struct {
	mu     sync.RWMutex
	boxes  map[string]struct{}
	owners map[string][]ContainerOwner // of containers in boxes, read since they last changed
	gen    uint64                      // counts the forgets: owners read before one are not kept
	synced atomic.Bool
}

// NewOwnedSet returns an empty set, not in sync.
func NewOwnedSet() *OwnedSet {
	return &OwnedSet{boxes: map[string]struct{}{}, owners: map[string][]ContainerOwner{}}
}

// Synced reports whether the set holds every owned container.
func (o *OwnedSet) Synced() bool { return o.synced.Load() }

// Len is how many containers the set holds.
func (o *OwnedSet) Len() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.boxes)
}

// add puts containers in the set.
func (o *OwnedSet) add(containers ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range containers {
		if c != "" {
			o.boxes[c] = struct{}{}
		}
	}
}

// Changed puts containers in the set and forgets their owners: they are read again when next
// matched. Owners being read meanwhile are not kept either.
func (o *OwnedSet) Changed(containers ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	for _, c := range containers {
		if c != "" {
			o.boxes[c] = struct{}{}
			delete(o.owners, c)
		}
	}
}

// Unowned reports whether the set, in sync, does not hold container: no tenant owns it, so no
// event about it goes to any subscription. Out of sync it reports false.
func (o *OwnedSet) Unowned(container string) bool {
	if !o.synced.Load() {
		return false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	_, held := o.boxes[container]
	return !held
}

// lookup splits containers, when the set is in sync, into the owners it knows (of the owned
// ones) and the owned containers whose owners it must read (each once), with the generation to
// hand remember. ok is false out of sync.
func (o *OwnedSet) lookup(containers []string) (known map[string][]ContainerOwner, missing []string, gen uint64, ok bool) {
	if !o.synced.Load() {
		return nil, nil, 0, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	known = map[string][]ContainerOwner{}
	asked := map[string]bool{}
	for _, c := range containers {
		if _, owned := o.boxes[c]; !owned || asked[c] {
			continue
		}
		asked[c] = true
		if owners, hit := o.owners[c]; hit {
			if len(owners) > 0 {
				known[c] = owners
			}
		} else {
			missing = append(missing, c)
		}
	}
	return known, missing, o.gen, true
}

// remember keeps the owners read of containers (none: a container owned by nobody after all),
// unless a change was announced since lookup gave gen, or the set fell out of sync.
func (o *OwnedSet) remember(gen uint64, containers []string, owners map[string][]ContainerOwner) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen || !o.synced.Load() {
		return
	}
	for _, c := range containers {
		o.owners[c] = owners[c]
		if o.owners[c] == nil {
			o.owners[c] = []ContainerOwner{}
		}
	}
}

// resync forgets every owner read, before the set reads the owned containers again.
func (o *OwnedSet) resync() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	clear(o.owners)
}

// WithOwnedSet makes the store keep set up to date with its own Owns and filter ContainerOwners
// through it. The caller runs ListenOwned to keep it in sync with every other writer.
func (s *Store) WithOwnedSet(set *OwnedSet) *Store {
	c := *s
	c.owned = set
	return &c
}

// ListenOwned keeps the store's OwnedSet in sync: it LISTENs for changes of owners on a
// connection of its own, then reads every owned container, then marks the set in sync and
// hands it each announced container (Changed) until ctx ends or the connection fails. It
// returns then, the set out of sync; the caller decides whether to listen again.
func (s *Store) ListenOwned(ctx context.Context) error {
	set := s.owned
	if set == nil {
		return errors.New("listen owned: the store has no owned set")
	}
	defer set.synced.Store(false)
	return s.listen(ctx, ownedChannel, func() error {
		set.resync()
		rows, err := s.db.Query(ctx, `SELECT DISTINCT value FROM ownership WHERE kind = $1`, KindContainer)
		if err != nil {
			return passErr("owned containers", err)
		}
		const chunk = 4096 // add in chunks: Owned is not held up for the whole read
		var boxes []string
		var box string
		_, err = pgx.ForEachRow(rows, []any{&box}, func() error {
			if boxes = append(boxes, box); len(boxes) == chunk {
				set.add(boxes...)
				boxes = boxes[:0]
			}
			return nil
		})
		if err != nil {
			return passErr("owned containers", err)
		}
		set.add(boxes...)
		set.synced.Store(true)
		return nil
	}, func(payload string) { set.Changed(payload) })
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
