package notification

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/services/notification/internal/adapters/pgstore"
	"github.com/scodalabs/scoda/services/notification/internal/egress"
	"github.com/scodalabs/scoda/services/notification/internal/webhook"
)

// EventTypes are the event types a subscription may filter on (filters.eventTypes; none:
// every type). The DCSA equipment codes (tracking.v1 EquipmentEventType), transport codes
// (TransportEventType) and shipment (document) codes (ShipmentEventType), then the SCODA types: POSITION (a position fix), ETA (an estimated
// arrival changed), DELAY (a departure was delayed), CANCELLED (a departure or booking was
// cancelled), BOOKING (any other booking change), SHIPMENT (a shipment change or a document
// event), EXCEPTION (something off plan).
var EventTypes = []string{
	"LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD",
	"ARRI", "DEPA",
	"RECE", "DRFT", "PENA", "PENU", "REJE", "APPR", "ISSU", "SURR", "SUBM", "VOID", "CONF", "REQS", "CMPL", "HOLD", "RELS",
	"POSITION", "ETA", "DELAY", "CANCELLED", "BOOKING", "SHIPMENT", "EXCEPTION",
}

// Limits of a subscription.
const (
	maxReferences   = 1000 // container, booking and document references together
	maxReferenceLen = 100  // a booking or document reference
	minDCSASecret   = 32   // bytes of a DCSA secret
	maxDCSASecret   = 64
	checkURLTimeout = 5 * time.Second // resolving a callback's host at subscribe time
	testEventType   = "TEST"
)

var shippers = []auth.Role{auth.RoleShipper} // admins too: RequireRole always lets them through

// mountSubscriptions registers the subscription routes.
func mountSubscriptions(route router, n *Notifier) {
	route("POST /v1/subscriptions", "subscription.create", makeCreateSubscriptionEndpoint(n), decodeCreateSubscription, shippers...)
	route("GET /v1/subscriptions", "subscriptions", makeSubscriptionsEndpoint(n), decodeSubscriptions, shippers...)
	route("GET /v1/subscriptions/{id}", "subscription", makeSubscriptionEndpoint(n), decodeID, shippers...)
	route("PATCH /v1/subscriptions/{id}", "subscription.update", makeUpdateSubscriptionEndpoint(n), decodeUpdateSubscription, shippers...)
	route("DELETE /v1/subscriptions/{id}", "subscription.delete", makeDeleteSubscriptionEndpoint(n), decodeDeleteSubscription, shippers...)
	route("PUT /v1/subscriptions/{id}/secret", "subscription.secret", makeRotateSecretEndpoint(n), decodeRotateSecret, shippers...)
	route("POST /v1/subscriptions/{id}/test", "subscription.test", makeTestSubscriptionEndpoint(n), decodeID, shippers...)
}

// Own keeps the ownership projection, in the inbox transaction tx: a booking or shipment event
// makes its tenant the owner of its container, booking and transport document. Nothing is
// ever disowned: after booking.cancelled the container's history stays visible to the tenant.
//
// "All my containers" needs nothing more: such a subscription listens on the key
// ('tenant', tenant), and an event about a container is matched through the tenants owning
// it (pgstore.Owners), so it follows the containers as they are booked.
func (n *Notifier) Own(ctx context.Context, tx pgx.Tx, ev events.Event) error {
	var owned []pgstore.Owned
	switch e := ev.(type) {
	case *schedulev1.BookingEvent:
		c := containerNumber(e.GetEquipmentReference())
		owned = append(owned,
			pgstore.Owned{Kind: pgstore.KindContainer, Value: c},
			pgstore.Owned{Kind: pgstore.KindBooking, Value: e.GetBookingId(), Container: c},
			pgstore.Owned{Kind: pgstore.KindDocument, Value: e.GetTransportDocumentReference(), Container: c})
	case *schedulev1.ShipmentEvent:
		tdr := e.GetTransportDocumentReference()
		owned = append(owned, pgstore.Owned{Kind: pgstore.KindDocument, Value: tdr})
		legs := e.GetCreated().GetLegs()
		for _, c := range e.GetCreated().GetEquipmentReferences() {
			owned = append(owned, pgstore.Owned{Kind: pgstore.KindContainer, Value: containerNumber(c)},
				pgstore.Owned{Kind: pgstore.KindDocument, Value: tdr, Container: containerNumber(c)})
		}
		if l := e.GetLegAdded().GetLeg(); l != nil {
			legs = append(legs, l)
		}
		if l := e.GetLegUpdated().GetLeg(); l != nil {
			legs = append(legs, l)
		}
		for _, l := range legs {
			owned = append(owned, pgstore.Owned{Kind: pgstore.KindBooking, Value: l.GetBookingId()})
		}
	default:
		return nil
	}
	return n.store.Own(ctx, tx, ev.GetEnvelope().GetTenantId(), owned)
}

// containerNumber is s in canonical ISO 6346 form, or s as it is when it is not a number.
func containerNumber(s string) string {
	if c, err := iso6346.Parse(s); err == nil {
		return string(c)
	}
	return s
}

// SubscriptionRequest is the body of POST /v1/subscriptions.
type SubscriptionRequest struct {
	Tenant      string  `json:"tenant"` // admin: the tenant subscribed for
	CallbackURL string  `json:"callbackUrl"`
	Scheme      string  `json:"scheme"` // "standard" (default) or "dcsa"
	Secret      string  `json:"secret"` // optional: generated when empty
	Filters     Filters `json:"filters"`
}

// Filters say what a subscription is about: the references listed, or every container of the
// tenant (AllContainers), and which event types (none: every type).
type Filters struct {
	EquipmentReferences         []string `json:"equipmentReferences"`
	BookingReferences           []string `json:"bookingReferences"`
	TransportDocumentReferences []string `json:"transportDocumentReferences"`
	AllContainers               bool     `json:"allContainers"`
	EventTypes                  []string `json:"eventTypes"`
}

// SubscriptionPatch is the body of PATCH /v1/subscriptions/{id}: the fields given replace
// the subscription's (filters as a whole).
type SubscriptionPatch struct {
	CallbackURL *string  `json:"callbackUrl"`
	Filters     *Filters `json:"filters"`
	Status      *string  `json:"status"` // "active" re-enables a disabled subscription
}

// SecretRequest is the body of PUT /v1/subscriptions/{id}/secret; an empty Secret is generated.
type SecretRequest struct {
	Secret string `json:"secret"`
}

// filterSpec is a validated Filters.
type filterSpec struct {
	keys       []pgstore.Key
	all        bool
	eventTypes []string
}

// validateFilters checks f, noting problems in v.
func validateFilters(v *apperr.ValidationError, f Filters) filterSpec {
	var spec filterSpec
	n := len(f.EquipmentReferences) + len(f.BookingReferences) + len(f.TransportDocumentReferences)
	switch {
	case n > maxReferences:
		v.Add("filters", fmt.Sprintf("names %d references; at most %d", n, maxReferences))
		return spec
	case n == 0 && !f.AllContainers:
		v.Add("filters", "name at least one equipment, booking or transport document reference, or set allContainers")
	}
	add := func(kind, value string) {
		k := pgstore.Key{Kind: kind, Value: value}
		if !slices.Contains(spec.keys, k) {
			spec.keys = append(spec.keys, k)
		}
	}
	for i, s := range f.EquipmentReferences {
		c, err := iso6346.Parse(s)
		var pe *iso6346.ParseError
		switch {
		case errors.As(err, &pe):
			v.Add(fmt.Sprintf("filters.equipmentReferences[%d]", i), pe.Reason)
		case err != nil:
			v.Add(fmt.Sprintf("filters.equipmentReferences[%d]", i), "is not an ISO 6346 container number")
		default:
			add(pgstore.KindContainer, string(c))
		}
	}
	refs := func(field, kind string, list []string) {
		for i, s := range list {
			if reason := referenceProblem(s); reason != "" {
				v.Add(fmt.Sprintf("filters.%s[%d]", field, i), reason)
				continue
			}
			add(kind, s)
		}
	}
	refs("bookingReferences", pgstore.KindBooking, f.BookingReferences)
	refs("transportDocumentReferences", pgstore.KindDocument, f.TransportDocumentReferences)
	spec.all = f.AllContainers
	spec.eventTypes = []string{}
	for i, t := range f.EventTypes {
		switch {
		case !slices.Contains(EventTypes, t):
			v.Add(fmt.Sprintf("filters.eventTypes[%d]", i), "is not an event type; one of "+fmt.Sprint(EventTypes))
		case !slices.Contains(spec.eventTypes, t):
			spec.eventTypes = append(spec.eventTypes, t)
		}
	}
	slices.SortFunc(spec.keys, func(a, b pgstore.Key) int {
		if a.Kind != b.Kind {
			return cmp.Compare(a.Kind, b.Kind)
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return spec
}

// referenceProblem says what is wrong with a booking or document reference, or "".
func referenceProblem(s string) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > maxReferenceLen {
		return fmt.Sprintf("is longer than %d characters", maxReferenceLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return "must be printable ASCII without spaces"
		}
	}
	return ""
}

// egressOptions are the SSRF guard's settings, for subscribe-time checks and the client alike.
func (n *Notifier) egressOptions() egress.Options {
	return egress.Options{AllowHTTP: n.cfg.AllowHTTP, AllowedNets: n.cfg.AllowedNets, Timeout: n.cfg.Timeout}
}

// checkCallback notes in v why raw may not be a callback URL, if it may not.
func (n *Notifier) checkCallback(ctx context.Context, v *apperr.ValidationError, raw string) {
	if raw == "" {
		v.Add("callbackUrl", "is required")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, checkURLTimeout)
	defer cancel()
	err := egress.CheckURL(ctx, raw, n.egressOptions())
	var refused *egress.RefusedError
	switch {
	case err == nil:
	case errors.As(err, &refused):
		v.Add("callbackUrl", refused.Reason)
	default:
		v.Add("callbackUrl", "does not resolve")
	}
}

// secretFor returns the secret to store for scheme: given, checked and in canonical form, or a
// new one when given is empty. Problems are noted in v.
func secretFor(v *apperr.ValidationError, scheme, given string) string {
	switch scheme {
	case pgstore.SchemeStandard:
		if given == "" {
			return webhook.NewSecret().Encode()
		}
		s, err := webhook.ParseSecret(given)
		if err != nil {
			v.Add("secret", "must be whsec_ followed by the standard base64 of 24 to 64 bytes")
			return ""
		}
		return s.Encode()
	case pgstore.SchemeDCSA:
		if given == "" {
			b := make([]byte, minDCSASecret)
			_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
			return base64.StdEncoding.EncodeToString(b)
		}
		b, err := base64.StdEncoding.DecodeString(given)
		if err != nil || len(b) < minDCSASecret || len(b) > maxDCSASecret {
			v.Add("secret", fmt.Sprintf("must be the standard base64 of %d to %d bytes", minDCSASecret, maxDCSASecret))
			return ""
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	return "" // the scheme was refused already
}

// checkOwnership answers ErrNotFound, naming nothing, unless a shipper's tenant owns every key;
// other roles may name anything.
func (n *Notifier) checkOwnership(ctx context.Context, p auth.Principal, keys []pgstore.Key) error {
	if p.Role != auth.RoleShipper {
		return nil
	}
	ok, err := n.store.Owns(ctx, p.Tenant, keys...)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.ErrNotFound
	}
	return nil
}

// CreateSubscription subscribes p's tenant (a shipper's own; the one an admin names) to r.
// Bad input is a ValidationError; a reference the shipper's tenant does not own is
// ErrNotFound, and nothing is stored.
func (n *Notifier) CreateSubscription(ctx context.Context, p auth.Principal, r SubscriptionRequest) (pgstore.Subscription, error) {
	v := &apperr.ValidationError{}
	tenant := p.Tenant
	switch {
	case p.Role == auth.RoleShipper && r.Tenant != "" && r.Tenant != p.Tenant:
		v.Add("tenant", "a shipper subscribes for its own tenant only")
	case p.Role != auth.RoleShipper:
		if tenant = r.Tenant; tenant == "" {
			v.Add("tenant", "is required: name the tenant the subscription is for")
		}
	}
	scheme := r.Scheme
	if scheme == "" {
		scheme = pgstore.SchemeStandard
	}
	if scheme != pgstore.SchemeStandard && scheme != pgstore.SchemeDCSA {
		v.Add("scheme", `is "standard" or "dcsa"`)
	}
	secret := secretFor(v, scheme, r.Secret)
	spec := validateFilters(v, r.Filters)
	n.checkCallback(ctx, v, r.CallbackURL)
	if err := v.Err(); err != nil {
		return pgstore.Subscription{}, err
	}
	if err := n.checkOwnership(ctx, p, spec.keys); err != nil {
		return pgstore.Subscription{}, err
	}
	return n.store.CreateSubscription(ctx, pgstore.Subscription{Tenant: tenant, CallbackURL: r.CallbackURL, Scheme: scheme,
		Secret: secret, AllContainers: spec.all, EventTypes: spec.eventTypes, Keys: spec.keys})
}

// Subscription returns subscription id: p's tenant's only for a shipper.
func (n *Notifier) Subscription(ctx context.Context, p auth.Principal, id string) (pgstore.Subscription, error) {
	return n.store.Subscription(ctx, scope(p), id)
}

// SubscriptionQuery pages the subscription list.
type SubscriptionQuery struct {
	Limit, Cursor string
}

// Subscriptions lists subscriptions newest first: a shipper's own tenant's, everyone's for an
// admin. next is the cursor of the next page ("" on the last).
func (n *Notifier) Subscriptions(ctx context.Context, p auth.Principal, q SubscriptionQuery) (subs []pgstore.Subscription, next string, err error) {
	v := &apperr.ValidationError{}
	limit, after := pageArgs(v, q.Limit, q.Cursor)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	subs, k, err := n.store.ListSubscriptions(ctx, scope(p), after, limit)
	if k != nil {
		next = k.Encode()
	}
	return subs, next, err
}

// UpdateSubscription applies r to subscription id at the version ifMatch names, with the checks
// of CreateSubscription.
func (n *Notifier) UpdateSubscription(ctx context.Context, p auth.Principal, id, ifMatch string, r SubscriptionPatch) (pgstore.Subscription, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Subscription{}, err
	}
	v := &apperr.ValidationError{}
	if r.CallbackURL != nil {
		n.checkCallback(ctx, v, *r.CallbackURL)
	}
	var spec filterSpec
	if r.Filters != nil {
		spec = validateFilters(v, *r.Filters)
	}
	if r.Status != nil && *r.Status != pgstore.StatusActive && *r.Status != pgstore.StatusDisabled {
		v.Add("status", `is "active" or "disabled"`)
	}
	if err := v.Err(); err != nil {
		return pgstore.Subscription{}, err
	}
	if err := n.checkOwnership(ctx, p, spec.keys); err != nil {
		return pgstore.Subscription{}, err
	}
	return n.store.UpdateSubscription(ctx, scope(p), id, version, func(s *pgstore.Subscription) error {
		if r.CallbackURL != nil {
			s.CallbackURL = *r.CallbackURL
		}
		if r.Filters != nil {
			s.Keys, s.AllContainers, s.EventTypes = spec.keys, spec.all, spec.eventTypes
		}
		if r.Status != nil && *r.Status != s.Status {
			s.Status = *r.Status
			if s.Status == pgstore.StatusDisabled {
				s.DisabledReason = "disabled by its owner"
			}
		}
		return nil
	})
}

// DeleteSubscription deletes subscription id at the version ifMatch names.
func (n *Notifier) DeleteSubscription(ctx context.Context, p auth.Principal, id, ifMatch string) error {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return err
	}
	return n.store.DeleteSubscription(ctx, scope(p), id, version)
}

// RotateSecret gives subscription id (at the version ifMatch names) a new secret, r's or a
// generated one; the old one still signs for cfg.RotationGrace.
func (n *Notifier) RotateSecret(ctx context.Context, p auth.Principal, id, ifMatch string, r SecretRequest) (pgstore.Subscription, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Subscription{}, err
	}
	until := n.now().Add(n.cfg.RotationGrace)
	return n.store.RotateSecret(ctx, scope(p), id, version, until, func(s pgstore.Subscription) (string, error) {
		v := &apperr.ValidationError{}
		secret := secretFor(v, s.Scheme, r.Secret)
		return secret, v.Err()
	})
}

// TestResult is what a test event met at the callback.
type TestResult struct {
	StatusCode int // 0: no answer
	Latency    time.Duration
	Error      string // why it failed: no answer, or not the answer the scheme expects
}

// TestSubscription sends a test event (type TEST) to subscription id's callback through the
// guarded client, signed as deliveries are, and reports the answer. An address refused at dial
// time, a redirect or a timeout is reported in the result, not followed.
func (n *Notifier) TestSubscription(ctx context.Context, p auth.Principal, id string) (TestResult, error) {
	sub, err := n.store.Subscription(ctx, scope(p), id)
	if err != nil {
		return TestResult{}, err
	}
	now := n.now()
	eventID := newID()
	body, err := testEventBody(sub, eventID, now)
	if err != nil {
		return TestResult{}, err
	}
	hdr, err := signDelivery(sub, eventID, now, body)
	if err != nil {
		return TestResult{}, fmt.Errorf("sign test event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return TestResult{Error: "the callback URL cannot be used: " + err.Error()}, nil
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Close = true // one request: no connection is kept

	client := egress.NewClient(n.egressOptions())
	defer client.CloseIdleConnections()
	start := time.Now()
	resp, err := client.Do(req)
	res := TestResult{Latency: time.Since(start)}
	if err != nil {
		if resp != nil { // a redirect, refused: its body is closed already
			res.StatusCode = resp.StatusCode
		}
		res.Error = sendError(err, n.egressOptions().Timeout)
		return res, nil
	}
	res.StatusCode = resp.StatusCode
	_, _ = egress.ReadBody(resp, n.cfg.ResponseLimit) // drained, not shown: the answer is the status
	if !delivered(sub.Scheme, resp.StatusCode) {
		res.Error = "the endpoint answered " + strconv.Itoa(resp.StatusCode) + ", expected " + expected(sub.Scheme)
	}
	return res, nil
}

// delivered reports whether status is success for scheme: 2xx, and 204 for DCSA.
func delivered(scheme string, status int) bool {
	if scheme == pgstore.SchemeDCSA {
		return status == http.StatusNoContent
	}
	return status >= 200 && status < 300
}

func expected(scheme string) string {
	if scheme == pgstore.SchemeDCSA {
		return "204"
	}
	return "2xx"
}

// sendError says why a request got no (acceptable) answer, in words for the subscription's
// owner.
func sendError(err error, timeout time.Duration) string {
	var refused *egress.RefusedError
	var ue *url.Error
	switch {
	case errors.As(err, &refused):
		return "refused: " + refused.Reason
	case errors.Is(err, egress.ErrRedirect):
		return "redirects are not followed"
	case errors.As(err, &ue) && ue.Timeout():
		if timeout <= 0 {
			timeout = egress.DefaultTimeout
		}
		return "no answer within " + timeout.String()
	case errors.As(err, &ue):
		return ue.Err.Error()
	}
	return err.Error()
}

// testEventBody is the body of a test event to sub: a delivery Envelope of type
// scoda.notification.test with event type TEST, in an array for DCSA.
func testEventBody(sub pgstore.Subscription, id string, now time.Time) ([]byte, error) {
	body, err := json.Marshal(Envelope{SpecVersion: "1.0", ID: id, Source: "scoda/notification", Type: "scoda.notification.test",
		Subject: sub.ID, Time: now.UTC().Truncate(time.Millisecond), DataContentType: "application/json", Tenant: sub.Tenant,
		EventType: testEventType, Data: json.RawMessage(`{"message":"This is a test event from SCODA Track."}`)})
	if err != nil || sub.Scheme != pgstore.SchemeDCSA {
		return body, err
	}
	return append(append([]byte{'['}, body...), ']'), nil
}

// signDelivery returns the headers that sign body, sent to sub at now as message msgID, with
// every secret still active (two during a rotation, the current one first):
//   - standard: webhook-id, webhook-timestamp and webhook-signature with one v1 entry a secret;
//   - dcsa: Subscription-ID and one Notification-Signature header line a secret (a receiver
//     that knows either secret finds the signature it can check).
func signDelivery(sub pgstore.Subscription, msgID string, now time.Time, body []byte) (http.Header, error) {
	secrets := sub.Secrets(now)
	if sub.Scheme == pgstore.SchemeDCSA {
		var h http.Header
		for _, s := range secrets {
			key, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, fmt.Errorf("%w: stored DCSA secret is not base64", webhook.ErrInvalidSecret)
			}
			one, err := webhook.SignDCSA(key, sub.ID, body)
			if err != nil {
				return nil, err
			}
			if h == nil {
				h = one
				continue
			}
			h.Add(webhook.HeaderDCSASignature, one.Get(webhook.HeaderDCSASignature))
		}
		return h, nil
	}
	keys := make([]webhook.Secret, len(secrets))
	for i, s := range secrets {
		k, err := webhook.ParseSecret(s)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return webhook.Sign(keys, msgID, now, body)
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Wire formats.

type filtersJSON struct {
	EquipmentReferences         []string `json:"equipmentReferences"`
	BookingReferences           []string `json:"bookingReferences"`
	TransportDocumentReferences []string `json:"transportDocumentReferences"`
	AllContainers               bool     `json:"allContainers"`
	EventTypes                  []string `json:"eventTypes"`
}

// subscriptionJSON is a subscription as the API shows it. Secret is set only in the answers
// to create and rotate: it is shown once.
type subscriptionJSON struct {
	ID                       string      `json:"id"`
	Tenant                   string      `json:"tenant"`
	CallbackURL              string      `json:"callbackUrl"`
	Scheme                   string      `json:"scheme"`
	Filters                  filtersJSON `json:"filters"`
	Status                   string      `json:"status"`
	DisabledReason           string      `json:"disabledReason,omitempty"`
	DisabledAt               *time.Time  `json:"disabledAt,omitempty"`
	Secret                   string      `json:"secret,omitempty"`
	PreviousSecretValidUntil *time.Time  `json:"previousSecretValidUntil,omitempty"`
	Version                  int         `json:"version"`
	CreatedAt                time.Time   `json:"createdAt"`
	UpdatedAt                time.Time   `json:"updatedAt"`
}

func toSubscriptionJSON(s pgstore.Subscription, now time.Time) subscriptionJSON {
	out := subscriptionJSON{ID: s.ID, Tenant: s.Tenant, CallbackURL: s.CallbackURL, Scheme: s.Scheme, Status: s.Status,
		DisabledReason: s.DisabledReason, DisabledAt: s.DisabledAt, Version: s.Version, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		Filters: filtersJSON{EquipmentReferences: []string{}, BookingReferences: []string{}, TransportDocumentReferences: []string{},
			AllContainers: s.AllContainers, EventTypes: s.EventTypes}}
	if out.Filters.EventTypes == nil {
		out.Filters.EventTypes = []string{}
	}
	if s.PreviousSecret != "" && s.PreviousUntil != nil && now.Before(*s.PreviousUntil) {
		out.PreviousSecretValidUntil = s.PreviousUntil
	}
	for _, k := range s.Keys {
		switch k.Kind {
		case pgstore.KindContainer:
			out.Filters.EquipmentReferences = append(out.Filters.EquipmentReferences, k.Value)
		case pgstore.KindBooking:
			out.Filters.BookingReferences = append(out.Filters.BookingReferences, k.Value)
		case pgstore.KindDocument:
			out.Filters.TransportDocumentReferences = append(out.Filters.TransportDocumentReferences, k.Value)
		}
	}
	return out
}

// subscriptionResponse carries the subscription's version as its ETag; created answers 201.
type subscriptionResponse struct {
	subscriptionJSON
	created bool
	Err     error `json:"-"`
}

func (r subscriptionResponse) Failed() error { return r.Err }

func (r subscriptionResponse) Headers() http.Header {
	if r.Err != nil {
		return nil
	}
	return etag(r.Version)
}

func (r subscriptionResponse) StatusCode() int {
	if r.created {
		return http.StatusCreated
	}
	return http.StatusOK
}

type subscriptionsResponse struct {
	Subscriptions []subscriptionJSON `json:"subscriptions"`
	NextCursor    string             `json:"nextCursor,omitempty"`
	Err           error              `json:"-"`
}

func (r subscriptionsResponse) Failed() error { return r.Err }

type testResponse struct {
	StatusCode int    `json:"statusCode,omitempty"`
	LatencyMs  int64  `json:"latencyMs"`
	Error      string `json:"error,omitempty"`
	Err        error  `json:"-"`
}

func (r testResponse) Failed() error { return r.Err }

// Requests.

type createSubscriptionRequest struct{ SubscriptionRequest }

type updateSubscriptionRequest struct {
	ID, IfMatch string
	SubscriptionPatch
}

type deleteSubscriptionRequest struct{ ID, IfMatch string }

type rotateSecretRequest struct {
	ID, IfMatch string
	SecretRequest
}

// Endpoints.

// subscriptionAnswer makes the answer of an endpoint that returns one subscription; withSecret
// shows its secret (create and rotate only).
func subscriptionAnswer(n *Notifier, s pgstore.Subscription, err error, created, withSecret bool) (any, error) {
	out := subscriptionResponse{created: created, Err: kitx.Business(err)}
	if err == nil {
		out.subscriptionJSON = toSubscriptionJSON(s, n.now())
		if withSecret {
			out.Secret = s.Secret
		}
	}
	return out, kitx.Infra(err)
}

func makeCreateSubscriptionEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		s, err := n.CreateSubscription(ctx, principal(ctx), req.(createSubscriptionRequest).SubscriptionRequest)
		return subscriptionAnswer(n, s, err, true, true)
	}
}

func makeSubscriptionEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		s, err := n.Subscription(ctx, principal(ctx), req.(idRequest).ID)
		return subscriptionAnswer(n, s, err, false, false)
	}
}

func makeSubscriptionsEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		subs, next, err := n.Subscriptions(ctx, principal(ctx), req.(SubscriptionQuery))
		out := subscriptionsResponse{Subscriptions: make([]subscriptionJSON, len(subs)), NextCursor: next, Err: kitx.Business(err)}
		now := n.now()
		for i, s := range subs {
			out.Subscriptions[i] = toSubscriptionJSON(s, now)
		}
		return out, kitx.Infra(err)
	}
}

func makeUpdateSubscriptionEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(updateSubscriptionRequest)
		s, err := n.UpdateSubscription(ctx, principal(ctx), r.ID, r.IfMatch, r.SubscriptionPatch)
		return subscriptionAnswer(n, s, err, false, false)
	}
}

func makeDeleteSubscriptionEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(deleteSubscriptionRequest)
		err := n.DeleteSubscription(ctx, principal(ctx), r.ID, r.IfMatch)
		return emptyResponse{Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

func makeRotateSecretEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(rotateSecretRequest)
		s, err := n.RotateSecret(ctx, principal(ctx), r.ID, r.IfMatch, r.SecretRequest)
		return subscriptionAnswer(n, s, err, false, true)
	}
}

func makeTestSubscriptionEndpoint(n *Notifier) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		res, err := n.TestSubscription(ctx, principal(ctx), req.(idRequest).ID)
		return testResponse{StatusCode: res.StatusCode, LatencyMs: res.Latency.Milliseconds(), Error: res.Error,
			Err: kitx.Business(err)}, kitx.Infra(err)
	}
}

// Decoders. Writes to an existing subscription carry If-Match; the service checks it after the
// role, so a caller without the role hears 403, not 428.

func decodeCreateSubscription(_ context.Context, r *http.Request) (any, error) {
	var b SubscriptionRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return createSubscriptionRequest{SubscriptionRequest: b}, nil
}

func decodeSubscriptions(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	return SubscriptionQuery{Limit: q.Get("limit"), Cursor: q.Get("cursor")}, nil
}

func decodeUpdateSubscription(_ context.Context, r *http.Request) (any, error) {
	var b SubscriptionPatch
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return updateSubscriptionRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), SubscriptionPatch: b}, nil
}

func decodeDeleteSubscription(_ context.Context, r *http.Request) (any, error) {
	return deleteSubscriptionRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match")}, nil
}

// decodeRotateSecret takes an optional body: none (or {}) generates the new secret.
func decodeRotateSecret(_ context.Context, r *http.Request) (any, error) {
	var b SecretRequest
	if r.ContentLength != 0 {
		if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
			return nil, err
		}
	}
	return rotateSecretRequest{ID: r.PathValue("id"), IfMatch: r.Header.Get("If-Match"), SecretRequest: b}, nil
}
