package pgstore

import (
	"context"
	"fmt"
	"maps"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// Matching a batch of events (the consumers' inbox transaction) takes a constant number of
// statements whatever the batch's size: the owners of its containers with their references,
// the subscriptions of every (event, tenant), and the deliveries. The per-event forms
// (Owners, ReferencesOf, InsertDeliveries) do the same for one event.

// ContainerOwner is a tenant owning a container, with the keys of that tenant the container
// travels under: its bookings and transport documents (see ReferencesOf).
type ContainerOwner struct {
	Tenant string
	Refs   []Key
}

// ContainerOwners returns, for each of containers that is owned, its owners sorted by tenant,
// each with its references. With an OwnedSet in sync (WithOwnedSet), it asks the database only
// for the owned containers whose owners the set does not know yet, and nothing when there are
// none; otherwise, about every container, in one query.
func (s *Store) ContainerOwners(ctx context.Context, db postgres.DB, containers []string) (map[string][]ContainerOwner, error) {
	if s.owned == nil {
		return s.readOwners(ctx, db, containers)
	}
	known, missing, gen, ok := s.owned.lookup(containers)
	if !ok {
		return s.readOwners(ctx, db, containers)
	}
	if len(missing) == 0 {
		return known, nil
	}
	read, err := s.readOwners(ctx, db, missing)
	if err != nil {
		return nil, err
	}
	s.owned.remember(gen, missing, read)
	maps.Copy(known, read)
	return known, nil
}

// readOwners is ContainerOwners from the database, in one query.
func (s *Store) readOwners(ctx context.Context, db postgres.DB, containers []string) (map[string][]ContainerOwner, error) {
	if len(containers) == 0 {
		return nil, nil
	}
	rows, err := db.Query(ctx, `
		SELECT o.value, o.tenant_id, r.kind, r.value
		FROM ownership o
		LEFT JOIN LATERAL (
			SELECT b.kind, b.value FROM ownership b
			WHERE b.tenant_id = o.tenant_id AND b.kind = $2 AND b.container = o.value
			UNION
			SELECT $3, d.document FROM document_containers d
			WHERE d.tenant_id = o.tenant_id AND d.container = o.value
		) r ON true
		WHERE o.kind = $4 AND o.value = ANY ($1::text[])
		ORDER BY o.value, o.tenant_id`, containers, KindBooking, KindDocument, KindContainer)
	if err != nil {
		return nil, passErr("container owners", err)
	}
	out := map[string][]ContainerOwner{}
	var container, tenant string
	var kind, value *string
	_, err = pgx.ForEachRow(rows, []any{&container, &tenant, &kind, &value}, func() error {
		owners := out[container]
		if n := len(owners); n == 0 || owners[n-1].Tenant != tenant {
			owners = append(owners, ContainerOwner{Tenant: tenant})
		}
		if kind != nil && value != nil {
			o := &owners[len(owners)-1]
			o.Refs = append(o.Refs, Key{Kind: *kind, Value: *value})
		}
		out[container] = owners
		return nil
	})
	if err != nil {
		return nil, passErr("container owners", err)
	}
	return out, nil
}

// MatchTarget is one event to match for one tenant: the subscriptions of Tenant listening on
// any of Keys and taking EventType.
type MatchTarget struct {
	Tenant    string
	EventType string
	Keys      []Key
}

// MatchTargets returns, for every target (by its index in targets), the ids of the active
// subscriptions of the target's tenant that listen on one of its keys (through
// subscription_keys' primary key) and take its event type (an empty event_types takes every
// type), sorted, in one query: the rule InsertDeliveries applies to one event.
func (s *Store) MatchTargets(ctx context.Context, db postgres.DB, targets []MatchTarget) ([][]string, error) {
	var idx []int32
	var tenants, types, kinds, values []string
	for i, t := range targets {
		if t.Tenant == "" {
			continue
		}
		for _, k := range t.Keys {
			idx = append(idx, int32(i))
			tenants, types = append(tenants, t.Tenant), append(types, t.EventType)
			kinds, values = append(kinds, k.Kind), append(values, k.Value)
		}
	}
	if len(idx) == 0 {
		return make([][]string, len(targets)), nil
	}
	rows, err := db.Query(ctx, `
		SELECT DISTINCT q.t, s.id::text
		FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[]) AS q (t, tenant, event_type, kind, value)
		JOIN subscription_keys k ON k.kind = q.kind AND k.value = q.value
		JOIN subscriptions s ON s.id = k.subscription_id
		WHERE s.tenant_id = q.tenant
		  AND s.status = 'active'
		  AND (cardinality(s.event_types) = 0 OR q.event_type = ANY (s.event_types))
		ORDER BY 1, 2`, idx, tenants, types, kinds, values)
	if err != nil {
		return nil, passErr("match targets", err)
	}
	out := make([][]string, len(targets))
	var t int32
	var sub string
	_, err = pgx.ForEachRow(rows, []any{&t, &sub}, func() error {
		out[t] = append(out[t], sub)
		return nil
	})
	if err != nil {
		return nil, passErr("match targets", err)
	}
	return out, nil
}

// Matched is one delivery to record: an event for one subscription.
type Matched struct {
	SubscriptionID string
	Tenant         string
	EventID        string
	EventType      string
	Subject        string
	Lane           string
	Body           []byte
	TraceParent    string // see NewDelivery
	TraceState     string
}

// InsertMatched records the deliveries of ds in one statement, in the order given: the
// deliveries of one lane must come in the order of their events, since seq, which the
// dispatcher sends a lane by, is drawn as the rows are inserted. A (subscription, event) that
// already has its delivery is skipped. Like InsertDeliveries, it notifies the dispatchers (once,
// in the same statement) only when a new delivery heads its lane, and has the lanes whose new
// deliveries wait behind a pending one looked at again after the commit (unblockAfterCommit).
// It returns how many deliveries were inserted.
//
// Each delivery's id, its webhook-id, is derived from its subscription and event
// ([DeliveryID]) rather than drawn: a delivery that the database lost after it was sent (a
// batch matched with postgres.BeginVisibleFirst is visible, and may be sent, before it is on
// disk) is inserted again, when its event is redelivered, under the same id, so that its
// receiver can tell the second send for what it is.
func (s *Store) InsertMatched(ctx context.Context, db postgres.DB, ds []Matched) (inserted int64, err error) {
	if len(ds) == 0 {
		return 0, nil
	}
	subs, tenants, ids, types := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	deliveryIDs := make([]uuid.UUID, len(ds))
	subjects, lanes, parents, states := make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds)), make([]string, len(ds))
	bodies := make([][]byte, len(ds))
	behind := make([]bool, len(ds)) // behind a delivery of the same lane inserted here
	seen := make(map[[2]string]bool, len(ds))
	for i, d := range ds {
		lane := [2]string{d.SubscriptionID, d.Lane}
		behind[i], seen[lane] = seen[lane], true
		subs[i], tenants[i], ids[i], types[i] = d.SubscriptionID, d.Tenant, d.EventID, d.EventType
		subjects[i], lanes[i], parents[i], states[i] = d.Subject, d.Lane, d.TraceParent, d.TraceState
		bodies[i] = d.Body
		if deliveryIDs[i], err = DeliveryID(d.SubscriptionID, d.EventID); err != nil {
			return 0, err
		}
	}
	var waitSubs, waitLanes []string
	// The subquery sees the lanes as they were before this statement: without the new rows.
	// It is a scalar subquery with a limit, which reads the first entry of the lane, and not
	// EXISTS: for EXISTS the planner may choose to hash every pending delivery once per
	// statement, and with statistics that lag a fast-growing table it did, reading ~8,500 rows
	// for a batch of 64 deliveries (40 ms) in a backlog.
	err = db.QueryRow(ctx, `WITH ins AS (
    INSERT INTO deliveries (id, subscription_id, tenant_id, event_id, event_type, subject, lane, body, traceparent, tracestate, blocked)
    SELECT r.id, r.sub, r.tenant, r.event_id, r.event_type, r.subject, r.lane, r.body, nullif(r.parent, ''), nullif(r.state, ''),
           r.behind OR (SELECT true FROM deliveries p WHERE p.subscription_id = r.sub AND p.lane = r.lane AND p.status = 'pending' LIMIT 1) IS NOT NULL
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::text[], $9::text[], $10::bool[], $11::uuid[])
         WITH ORDINALITY AS r (sub, tenant, event_id, event_type, subject, lane, body, parent, state, behind, id, n)
    ORDER BY r.n
    ON CONFLICT (subscription_id, event_id) DO NOTHING
    RETURNING subscription_id, lane, blocked
), waiting AS (
    -- The lanes whose new deliveries all wait behind one that was pending before.
    SELECT subscription_id::text AS sub, lane FROM ins GROUP BY 1, 2 HAVING bool_and(blocked)
), done AS (
    SELECT count(*) AS inserted, coalesce(bool_or(NOT blocked), false) AS head FROM ins
)
SELECT inserted, CASE WHEN head THEN pg_notify(`+deliveriesChannel+`, '') END IS NULL,
       (SELECT coalesce(array_agg(sub), '{}') FROM waiting), (SELECT coalesce(array_agg(lane), '{}') FROM waiting)
FROM done`,
		subs, tenants, ids, types, subjects, lanes, bodies, parents, states, behind, deliveryIDs).Scan(&inserted, new(bool), &waitSubs, &waitLanes)
	if err != nil {
		return 0, fmt.Errorf("insert deliveries: %w", err)
	}
	unblockAfterCommit(db, waitSubs, waitLanes)
	return inserted, nil
}

// deliveryNamespace is the UUID namespace of delivery ids.
var deliveryNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:scoda:notification:delivery"))

// DeliveryID is the id (webhook-id) of the delivery of event to subscription: a name-based
// UUID (version 5) of the two.
func DeliveryID(subscription, event string) (uuid.UUID, error) {
	sub, err := uuid.Parse(subscription)
	if err != nil {
		return uuid.Nil, fmt.Errorf("delivery id: subscription %q: %w", subscription, err)
	}
	return uuid.NewSHA1(deliveryNamespace, append(sub[:], event...)), nil
}
