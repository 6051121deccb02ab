package pgstore

import (
	"github.com/jackc/pgx/v5"

	"context"
	"slices"

	"github.com/scodalabs/scoda/pkg/postgres"
)

// Owned is one thing a tenant owns: a container, booking or transport document (Kind is
// KindContainer, KindBooking or KindDocument). Container is, for a booking, its container.
type Owned struct {
	Kind, Value, Container string
}

// Own records that tenant owns every item of owned, in db (the inbox transaction of the event
// that says so). It is idempotent: owning again only refreshes updated_at, and fills a
// booking's container when it was not known yet. Ownership is never taken away (a cancelled
// booking stays its tenant's, so its history stays visible to it).
//
// Subscriptions to "all my containers" need nothing here: they listen on the key
// ('tenant', tenant), and an event about a container is matched through the tenants that own
// it, so they follow every container the tenant books, from its first booking event on.
func (s *Store) Own(ctx context.Context, db postgres.DB, tenant string, owned []Owned) error {
	if tenant == "" || len(owned) == 0 {
		return nil
	}
	var docs, boxes []string // transport document -> container pairs
	for _, o := range owned {
		if o.Kind == KindDocument && o.Value != "" && o.Container != "" {
			docs, boxes = append(docs, o.Value), append(boxes, o.Container)
		}
	}
	if len(docs) > 0 {
		if _, err := db.Exec(ctx, `
			INSERT INTO document_containers (tenant_id, document, container)
			SELECT $1, d, c FROM unnest($2::text[], $3::text[]) AS t (d, c)
			ON CONFLICT DO NOTHING`, tenant, docs, boxes); err != nil {
			return passErr("own", err)
		}
	}
	owned = dedupeOwned(owned)
	if len(owned) == 0 {
		return nil
	}
	kinds, values, containers := make([]string, len(owned)), make([]string, len(owned)), make([]string, len(owned))
	for i, o := range owned {
		kinds[i], values[i], containers[i] = o.Kind, o.Value, o.Container
	}
	if s.owned != nil {
		// Before the commit: this process matches the containers' events by their new owners
		// from now on (read again; the commit's notification makes every process read them
		// again). Should the transaction roll back, the set holds a container too many.
		var changed []string
		for _, o := range owned {
			if o.Kind == KindContainer {
				changed = append(changed, o.Value)
			} else if o.Container != "" {
				changed = append(changed, o.Container)
			}
		}
		s.owned.Changed(changed...)
	}
	_, err := db.Exec(ctx, `
		INSERT INTO ownership (tenant_id, kind, value, container)
		SELECT $1, o.kind, o.value, o.container FROM unnest($2::text[], $3::text[], $4::text[]) AS o (kind, value, container)
		ON CONFLICT (kind, value, tenant_id) DO UPDATE
		SET container = CASE WHEN EXCLUDED.container <> '' THEN EXCLUDED.container ELSE ownership.container END,
		    updated_at = now()`, tenant, kinds, values, containers)
	return passErr("own", err)
}

// dedupeOwned drops empty values and repeats (an INSERT ... ON CONFLICT DO UPDATE may not touch
// one row twice), keeping a known container over an unknown one.
func dedupeOwned(owned []Owned) []Owned {
	out := make([]Owned, 0, len(owned))
	for _, o := range owned {
		if o.Value == "" {
			continue
		}
		i := slices.IndexFunc(out, func(p Owned) bool { return p.Kind == o.Kind && p.Value == o.Value })
		switch {
		case i < 0:
			out = append(out, o)
		case out[i].Container == "":
			out[i].Container = o.Container
		}
	}
	return out
}

// Owns reports whether tenant owns every one of keys (of kinds container, booking and
// document), in one query. No keys: true.
func (s *Store) Owns(ctx context.Context, tenant string, keys ...Key) (bool, error) {
	var distinct []Key
	for _, k := range keys {
		if !slices.Contains(distinct, k) {
			distinct = append(distinct, k)
		}
	}
	if len(distinct) == 0 {
		return true, nil
	}
	kinds, values := splitKeys(distinct)
	var n int
	err := s.db.QueryRow(ctx, `
		SELECT count(*) FROM ownership o
		WHERE o.tenant_id = $1
		  AND (o.kind, o.value) IN (SELECT u.kind, u.value FROM unnest($2::text[], $3::text[]) AS u (kind, value))`,
		tenant, kinds, values).Scan(&n)
	if err != nil {
		return false, passErr("owns", err)
	}
	return n == len(distinct), nil
}

// Owners returns the tenants that own the thing of kind and value, sorted.
func (s *Store) Owners(ctx context.Context, db postgres.DB, kind, value string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT tenant_id FROM ownership WHERE kind = $1 AND value = $2 ORDER BY tenant_id`, kind, value)
	if err != nil {
		return nil, passErr("owners", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, passErr("owners", err)
		}
		out = append(out, t)
	}
	return out, passErr("owners", rows.Err())
}

// ReferencesOf returns the bookings and transport documents of tenant that container travels
// under, as keys a subscription may listen on, in one query: tracking's events name the
// container only, and a subscription by booking or document must still receive them.
func (s *Store) ReferencesOf(ctx context.Context, db postgres.DB, tenant, container string) ([]Key, error) {
	rows, err := db.Query(ctx, `
		SELECT kind, value FROM ownership WHERE tenant_id = $1 AND kind = $3 AND container = $2
		UNION
		SELECT $4, document FROM document_containers WHERE tenant_id = $1 AND container = $2`,
		tenant, container, KindBooking, KindDocument)
	if err != nil {
		return nil, passErr("references of "+container, err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Key, error) {
		var k Key
		err := row.Scan(&k.Kind, &k.Value)
		return k, err
	})
	return keys, passErr("references of "+container, err)
}
