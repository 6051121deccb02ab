package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// Kinds of key a subscription listens on (subscription_keys.kind). The first three are also
// the kinds of ownership.
const (
	KindContainer = "container" // an ISO 6346 container number
	KindBooking   = "booking"   // a booking id
	KindDocument  = "document"  // a transport document reference
	KindTenant    = "tenant"    // a tenant id: "all my containers"
)

// Subscription statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Signing schemes.
const (
	SchemeStandard = "standard" // Standard Webhooks
	SchemeDCSA     = "dcsa"     // DCSA Event Hub: Notification-Signature over the body
)

// Key is one thing a subscription listens on, and one thing an event is about.
type Key struct {
	Kind, Value string
}

// Subscription is a row of subscriptions with the references it listens on.
type Subscription struct {
	ID                  string
	Tenant              string
	CallbackURL         string
	Scheme              string // SchemeStandard or SchemeDCSA
	Secret              string // whsec_... (standard) or base64 (dcsa)
	PreviousSecret      string // "" unless a rotation is under way
	PreviousUntil       *time.Time
	AllContainers       bool
	EventTypes          []string // empty: every type
	Status              string   // StatusActive or StatusDisabled
	DisabledReason      string
	DisabledAt          *time.Time
	ConsecutiveFailures int
	FirstFailureAt      *time.Time
	Version             int
	CreatedAt           time.Time
	UpdatedAt           time.Time
	// Keys are the container, booking and document references listened on, sorted by kind
	// and value. The tenant key of AllContainers is not among them: it follows that flag.
	Keys []Key
}

// Secrets returns the secrets a delivery made at now is signed with: the current one, then the
// previous one while its grace period lasts.
func (s Subscription) Secrets(now time.Time) []string {
	out := []string{s.Secret}
	if s.PreviousSecret != "" && s.PreviousUntil != nil && now.Before(*s.PreviousUntil) {
		out = append(out, s.PreviousSecret)
	}
	return out
}

// subscriptionColumns selects a subscription in the order (*Subscription).dest scans it; the
// keys come from subscription_keys through its primary key, sorted.
const subscriptionColumns = `s.id::text, s.tenant_id, s.callback_url, s.scheme, s.secret,
	coalesce(s.previous_secret, ''), s.previous_until, s.all_containers, s.event_types, s.status,
	coalesce(s.disabled_reason, ''), s.disabled_at, s.consecutive_failures, s.first_failure_at,
	s.version, s.created_at, s.updated_at,
	ARRAY(SELECT k.kind FROM subscription_keys k WHERE k.subscription_id = s.id AND k.kind <> 'tenant' ORDER BY k.kind, k.value),
	ARRAY(SELECT k.value FROM subscription_keys k WHERE k.subscription_id = s.id AND k.kind <> 'tenant' ORDER BY k.kind, k.value)`

// scanSubscription scans one row selected with subscriptionColumns.
func scanSubscription(row pgx.Row) (Subscription, error) {
	var s Subscription
	var kinds, values []string
	err := row.Scan(&s.ID, &s.Tenant, &s.CallbackURL, &s.Scheme, &s.Secret, &s.PreviousSecret, &s.PreviousUntil,
		&s.AllContainers, &s.EventTypes, &s.Status, &s.DisabledReason, &s.DisabledAt, &s.ConsecutiveFailures,
		&s.FirstFailureAt, &s.Version, &s.CreatedAt, &s.UpdatedAt, &kinds, &values)
	if err != nil {
		return Subscription{}, err
	}
	if s.EventTypes == nil {
		s.EventTypes = []string{}
	}
	s.Keys = make([]Key, len(kinds))
	for i := range kinds {
		s.Keys[i] = Key{Kind: kinds[i], Value: values[i]}
	}
	return s, nil
}

func collectSubscriptions(rows pgx.Rows) ([]Subscription, error) {
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreateSubscription stores sub (its ID, version and times are the store's) with one
// subscription_keys row per key and, for AllContainers, the ('tenant', sub.Tenant) key. The
// caller has validated sub and checked that its tenant may listen on its keys.
func (s *Store) CreateSubscription(ctx context.Context, sub Subscription) (Subscription, error) {
	var out Subscription
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, `
			INSERT INTO subscriptions (tenant_id, callback_url, scheme, secret, all_containers, event_types)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::text`,
			sub.Tenant, sub.CallbackURL, sub.Scheme, sub.Secret, sub.AllContainers, nonNil(sub.EventTypes)).Scan(&id)
		if err != nil {
			return err
		}
		if err := writeKeys(ctx, tx, id, sub.Tenant, sub.AllContainers, sub.Keys); err != nil {
			return err
		}
		out, err = subscription(ctx, tx, id, "", false)
		return err
	})
	return out, passErr("create subscription", err)
}

// writeKeys replaces the keys of subscription id: keys, plus the tenant key when all.
func writeKeys(ctx context.Context, tx pgx.Tx, id, tenant string, all bool, keys []Key) error {
	if _, err := tx.Exec(ctx, `DELETE FROM subscription_keys WHERE subscription_id = $1`, id); err != nil {
		return err
	}
	if all {
		keys = append(slices.Clip(keys), Key{Kind: KindTenant, Value: tenant})
	}
	kinds, values := splitKeys(keys)
	_, err := tx.Exec(ctx, `
		INSERT INTO subscription_keys (kind, value, subscription_id)
		SELECT k.kind, k.value, $3 FROM unnest($1::text[], $2::text[]) AS k (kind, value)
		ON CONFLICT DO NOTHING`, kinds, values, id)
	return err
}

// splitKeys returns the kinds and the values of keys, for unnest.
func splitKeys(keys []Key) (kinds, values []string) {
	kinds, values = make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		kinds[i], values[i] = k.Kind, k.Value
	}
	return kinds, values
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// Subscription returns subscription id; tenant, when not empty, must be its tenant. Another
// tenant's subscription is ErrNotFound, as is an id that is not a UUID.
func (s *Store) Subscription(ctx context.Context, tenant, id string) (Subscription, error) {
	sub, err := subscription(ctx, s.db, id, tenant, false)
	return sub, passErr("subscription", err)
}

// subscription reads subscription id, of tenant unless tenant is "", locking it for update
// when lock is set.
func subscription(ctx context.Context, db postgres.DB, id, tenant string, lock bool) (Subscription, error) {
	if !isUUID(id) {
		return Subscription{}, fmt.Errorf("subscription %s: %w", id, apperr.ErrNotFound)
	}
	q := `SELECT ` + subscriptionColumns + ` FROM subscriptions s WHERE s.id = $1 AND ($2 = '' OR s.tenant_id = $2)`
	if lock {
		q += ` FOR UPDATE OF s`
	}
	sub, err := scanSubscription(db.QueryRow(ctx, q, id, tenant))
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, fmt.Errorf("subscription %s: %w", id, apperr.ErrNotFound)
	}
	return sub, err
}

// DecodeCursor parses an opaque list cursor of this store (whose ids are UUIDs); "" is the first
// page (nil).
func DecodeCursor(s string) (*paging.Cursor, error) { return paging.Decode(s, isUUID) }

// ListSubscriptions returns up to limit subscriptions of tenant ("" for every tenant's), newest
// first, after the position `after` (nil: from the start), and the position of the next page
// (nil on the last).
func (s *Store) ListSubscriptions(ctx context.Context, tenant string, after *paging.Cursor, limit int) ([]Subscription, *paging.Cursor, error) {
	var at any
	var id string
	if after != nil {
		at, id = after.At, after.ID
	}
	rows, err := s.db.Query(ctx, `
		SELECT `+subscriptionColumns+` FROM subscriptions s
		WHERE ($1 = '' OR s.tenant_id = $1)
		  AND ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2::timestamptz, $3::text::uuid))
		ORDER BY s.created_at DESC, s.id DESC
		LIMIT $4`, tenant, at, nullUUID(id), limit+1)
	if err != nil {
		return nil, nil, passErr("list subscriptions", err)
	}
	subs, err := collectSubscriptions(rows)
	if err != nil {
		return nil, nil, passErr("list subscriptions", err)
	}
	if len(subs) <= limit {
		return subs, nil, nil
	}
	subs = subs[:limit]
	last := subs[limit-1]
	return subs, &paging.Cursor{At: last.CreatedAt, ID: last.ID}, nil
}

// isUUID reports whether s is a UUID in its canonical text form (any case).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// nullUUID is id, or a NULL for the query when id is "".
func nullUUID(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// UpdateSubscription changes subscription id (of tenant, unless tenant is "") when it is at
// version: update gets the subscription as it is, locked, and may change its callback URL,
// scheme, secrets, AllContainers, event types, status and keys; the keys are then replaced.
// Re-enabling (status back to active) clears the reason and the failure count; disabling
// records when. Another tenant's subscription is ErrNotFound, another version
// ErrPreconditionFailed. The version goes up by one.
func (s *Store) UpdateSubscription(ctx context.Context, tenant, id string, version int, update func(*Subscription) error) (Subscription, error) {
	var out Subscription
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		cur, err := subscription(ctx, tx, id, tenant, true)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return fmt.Errorf("subscription %s is no longer at version %d: %w", id, version, apperr.ErrPreconditionFailed)
		}
		next := cur
		next.Keys = slices.Clone(cur.Keys)
		next.EventTypes = slices.Clone(cur.EventTypes)
		if err := update(&next); err != nil {
			return err
		}
		reenabled := cur.Status == StatusDisabled && next.Status == StatusActive
		disabled := cur.Status == StatusActive && next.Status == StatusDisabled
		var previous *string
		if next.PreviousSecret != "" {
			previous = &next.PreviousSecret
		}
		_, err = tx.Exec(ctx, `
			UPDATE subscriptions SET callback_url = $2, scheme = $3, secret = $4, previous_secret = $5,
				previous_until = $6, all_containers = $7, event_types = $8, status = $9,
				disabled_reason = CASE WHEN $10 THEN NULL WHEN $11 THEN $12 ELSE disabled_reason END,
				disabled_at = CASE WHEN $10 THEN NULL WHEN $11 THEN now() ELSE disabled_at END,
				consecutive_failures = CASE WHEN $10 THEN 0 ELSE consecutive_failures END,
				first_failure_at = CASE WHEN $10 THEN NULL ELSE first_failure_at END,
				version = version + 1, updated_at = now()
			WHERE id = $1`,
			id, next.CallbackURL, next.Scheme, next.Secret, previous, next.PreviousUntil, next.AllContainers,
			nonNil(next.EventTypes), next.Status, reenabled, disabled, next.DisabledReason)
		if err != nil {
			return err
		}
		if next.AllContainers != cur.AllContainers || !slices.Equal(next.Keys, cur.Keys) {
			if err := writeKeys(ctx, tx, id, cur.Tenant, next.AllContainers, next.Keys); err != nil {
				return err
			}
		}
		out, err = subscription(ctx, tx, id, "", false)
		return err
	})
	return out, passErr("update subscription", err)
}

// RotateSecret makes the current secret of subscription id (of tenant, unless "") the previous
// one, which still signs until previousUntil, and newSecret's answer the current one. The
// subscription must be at version.
func (s *Store) RotateSecret(ctx context.Context, tenant, id string, version int, previousUntil time.Time,
	newSecret func(Subscription) (string, error)) (Subscription, error) {
	return s.UpdateSubscription(ctx, tenant, id, version, func(sub *Subscription) error {
		secret, err := newSecret(*sub)
		if err != nil {
			return err
		}
		until := previousUntil
		sub.PreviousSecret, sub.PreviousUntil, sub.Secret = sub.Secret, &until, secret
		return nil
	})
}

// DeleteSubscription deletes subscription id (of tenant, unless tenant is "") when it is at
// version; its keys and deliveries go with it.
func (s *Store) DeleteSubscription(ctx context.Context, tenant, id string, version int) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		cur, err := subscription(ctx, tx, id, tenant, true)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return fmt.Errorf("subscription %s is no longer at version %d: %w", id, version, apperr.ErrPreconditionFailed)
		}
		_, err = tx.Exec(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
		return err
	})
	return passErr("delete subscription", err)
}

// MatchSubscriptions returns the active subscriptions listening on any of keys, each once,
// oldest first, in one query through the primary key of subscription_keys. A subscription's
// event types are not applied here: the caller filters on Subscription.EventTypes (empty: every
// type). db may be a transaction (the inbox's).
func (s *Store) MatchSubscriptions(ctx context.Context, db postgres.DB, keys []Key) ([]Subscription, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	kinds, values := splitKeys(keys)
	rows, err := db.Query(ctx, `
		SELECT `+subscriptionColumns+` FROM subscriptions s
		WHERE s.status = 'active' AND s.id IN (
			SELECT k.subscription_id FROM subscription_keys k
			WHERE (k.kind, k.value) IN (SELECT u.kind, u.value FROM unnest($1::text[], $2::text[]) AS u (kind, value)))
		ORDER BY s.created_at, s.id`, kinds, values)
	if err != nil {
		return nil, passErr("match subscriptions", err)
	}
	subs, err := collectSubscriptions(rows)
	return subs, passErr("match subscriptions", err)
}

// passErr returns the errors callers act on (domain errors) as they are and wraps the rest.
func passErr(op string, err error) error {
	var ve *apperr.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve), errors.Is(err, apperr.ErrNotFound), errors.Is(err, apperr.ErrConflict),
		errors.Is(err, apperr.ErrPreconditionFailed):
		return err
	default:
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
}
