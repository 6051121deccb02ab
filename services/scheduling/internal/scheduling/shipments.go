package scheduling

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/paging"
	"github.com/scodalabs/scoda/pkg/rfc3339"
	"github.com/scodalabs/scoda/pkg/unlocode"
	"github.com/scodalabs/scoda/services/scheduling/internal/adapters/pgstore"
)

// Multimodal shipments: one transport document (the multimodal bill of lading) for containers
// moving over legs of several modes, some of them bookings on the hub's departures (rail), the
// others external legs run by other carriers (sea, road, air, barge) whose actual times those
// carriers report. A shipment's status and ETA follow from its legs (ShipmentProgress).

// Limits of a shipment and of a page of a list.
const (
	maxLegs          = 20
	maxContainers    = 100
	defaultPageLimit = 50
	maxPageLimit     = 200
	maxTDRLength     = 20 // DCSA transportDocumentReference
)

// Leg statuses, as the API shows them.
const (
	legPlanned    = "planned"    // an external leg not yet started
	legBooked     = "booked"     // a booking leg, booked and not yet moving
	legWaitlisted = "waitlisted" // a booking leg whose departure was cancelled, waiting for a new one
	legInTransit  = "in_transit"
	legArrived    = "arrived"
	legDelivered  = "delivered"
	legCancelled  = "cancelled" // a booking leg whose booking was cancelled
)

// modes are the leg modes with their contract values.
var modes = map[string]commonv1.ModeOfTransport{
	"rail":  commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
	"sea":   commonv1.ModeOfTransport_MODE_OF_TRANSPORT_VESSEL,
	"road":  commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK,
	"air":   commonv1.ModeOfTransport_MODE_OF_TRANSPORT_AIR,
	"barge": commonv1.ModeOfTransport_MODE_OF_TRANSPORT_BARGE,
}

// shipmentStatuses maps the store's shipment statuses to the contract's.
var shipmentStatuses = map[string]schedulev1.ShipmentStatus{
	pgstore.ShipmentCreated:   schedulev1.ShipmentStatus_SHIPMENT_STATUS_CREATED,
	pgstore.ShipmentBooked:    schedulev1.ShipmentStatus_SHIPMENT_STATUS_BOOKED,
	pgstore.ShipmentInTransit: schedulev1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT,
	pgstore.ShipmentArrived:   schedulev1.ShipmentStatus_SHIPMENT_STATUS_ARRIVED,
	pgstore.ShipmentDelivered: schedulev1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED,
	pgstore.ShipmentCancelled: schedulev1.ShipmentStatus_SHIPMENT_STATUS_CANCELLED,
}

// --- status and ETA ------------------------------------------------------------------------

// LegOutlook is where one leg is and when it is expected at its end (nil: not known).
type LegOutlook struct {
	Status string
	ETA    *time.Time
}

// ShipmentOutlook is a shipment's status and ETA at its destination, with each leg's.
type ShipmentOutlook struct {
	Status string
	ETA    *time.Time
	Legs   []LegOutlook
}

// ShipmentProgress computes a shipment's status and ETA from its legs; recorded is the status
// last recorded, of which delivered and cancelled are final (delivery of an external final leg
// is only known when its carrier reports it, so it is carried by the recorded status).
//
// A leg's ETA is its actual arrival once known. Otherwise a booking leg expects the booking's
// announced ETA (its departure's planned arrival at the to-stop before any), an external leg its
// planned arrival; a leg that has not departed yet is moved later by as much as the ETA of the
// leg before it exceeds its planned departure (and a leg that has, by how late it left), never
// earlier than that. A cancelled or waitlisted booking leg has no ETA. The shipment's ETA is the
// last leg's.
//
// The status: delivered once the final leg is delivered; arrived once it has arrived; in
// transit once any leg has departed; booked when every leg is booked or planned; created while
// some leg has no booking (cancelled or waitlisted).
func ShipmentProgress(legs []pgstore.ShipmentLeg, recorded string) ShipmentOutlook {
	out := ShipmentOutlook{Legs: make([]LegOutlook, len(legs))}
	var prev *time.Time
	moving, ready := false, true
	for i, l := range legs {
		p := LegOutlook{Status: legPlanned}
		departed := l.ActualDeparture != nil || l.ActualArrival != nil
		arrived := l.ActualArrival != nil
		base := l.PlannedArrival
		if b := l.Booking; b != nil {
			p.Status = legBooked
			if b.ETA != nil {
				base = b.ETA
			}
			switch b.Status {
			case pgstore.BookingCancelled:
				p.Status, base = legCancelled, nil
			case pgstore.BookingWaitlisted:
				p.Status, base = legWaitlisted, nil
			case pgstore.BookingLoaded, pgstore.BookingInTransit:
				departed = true
			case pgstore.BookingArrived:
				departed, arrived = true, true
			case pgstore.BookingDelivered:
				departed, arrived = true, true
				p.Status = legDelivered
			}
		}
		switch {
		case p.Status == legCancelled || p.Status == legWaitlisted:
			ready = false
		case p.Status == legDelivered:
		case arrived:
			p.Status = legArrived
		case departed:
			p.Status = legInTransit
		}
		if p.Status != legCancelled && p.Status != legWaitlisted && p.Status != legPlanned && p.Status != legBooked {
			moving = true
		}
		switch {
		case l.ActualArrival != nil:
			p.ETA = l.ActualArrival
		case base != nil:
			var late time.Duration
			switch {
			case l.ActualDeparture != nil && l.PlannedDeparture != nil:
				late = l.ActualDeparture.Sub(*l.PlannedDeparture)
			case !departed && prev != nil && l.PlannedDeparture != nil:
				late = prev.Sub(*l.PlannedDeparture)
			}
			eta := *base
			if late > 0 {
				eta = eta.Add(late)
			}
			p.ETA = &eta
		}
		if p.ETA == nil && base == nil && p.Status != legCancelled && p.Status != legWaitlisted {
			ready = false // no planned times at all
		}
		out.Legs[i] = p
		prev = p.ETA
	}
	if n := len(legs); n > 0 {
		out.ETA = out.Legs[n-1].ETA
	}
	last := LegOutlook{}
	if n := len(legs); n > 0 {
		last = out.Legs[n-1]
	}
	switch {
	case recorded == pgstore.ShipmentCancelled:
		out.Status = pgstore.ShipmentCancelled
	case recorded == pgstore.ShipmentDelivered || last.Status == legDelivered:
		out.Status = pgstore.ShipmentDelivered
		if n := len(legs); n > 0 && last.Status == legArrived {
			out.Legs[n-1].Status = legDelivered
		}
	case last.Status == legArrived:
		out.Status = pgstore.ShipmentArrived
	case moving:
		out.Status = pgstore.ShipmentInTransit
	case ready:
		out.Status = pgstore.ShipmentBooked
	default:
		out.Status = pgstore.ShipmentCreated
	}
	return out
}

// --- creating ------------------------------------------------------------------------------

// ShipmentLegRequest is one leg of a new shipment: either a booking here (BookingID; its stops
// and times come from the booking, its mode is rail) or an external leg with its mode, stops
// and planned times (RFC 3339 with an offset).
type ShipmentLegRequest struct {
	Mode               string `json:"mode"`
	From               string `json:"from"`
	To                 string `json:"to"`
	CarrierCode        string `json:"carrierCode"`
	TransportReference string `json:"transportReference"`
	BookingID          string `json:"bookingId"`
	PlannedDeparture   string `json:"plannedDeparture"`
	PlannedArrival     string `json:"plannedArrival"`
}

// ShipmentRequest asks for a shipment: its legs in order and, for a shipment of external legs
// only, its containers. TransportDocumentReference is generated when absent.
type ShipmentRequest struct {
	Tenant                     string               `json:"tenant,omitempty"` // dispatchers and admins only
	TransportDocumentReference string               `json:"transportDocumentReference"`
	EquipmentReferences        []string             `json:"equipmentReferences"`
	Legs                       []ShipmentLegRequest `json:"legs"`
}

// CreateShipment creates a shipment for the caller's tenant (a shipper) or the tenant it names
// (a dispatcher or admin), and announces it (schedule.v1.shipment.created, whose tenant and
// containers tracking grants visibility from) in the same transaction.
//
// Errors: *apperr.ValidationError for bad input (legs[i].<field>), including a booking that is
// not the tenant's or is cancelled ("no such booking"); apperr.ErrConflict when the transport
// document reference is taken or a booking is already a leg of a shipment.
func (s *Scheduler) CreateShipment(ctx context.Context, p auth.Principal, req ShipmentRequest) (pgstore.Shipment, error) {
	v := &apperr.ValidationError{}
	tenant := req.Tenant
	if p.Role == auth.RoleShipper {
		if tenant != "" && tenant != p.Tenant {
			v.Add("tenant", "a shipper creates shipments for its own tenant only")
		}
		tenant = p.Tenant
	} else if tenant == "" {
		v.Add("tenant", "is required for a dispatcher or admin")
	}
	tdr := req.TransportDocumentReference
	if tdr == "" {
		tdr = newTDR()
	} else if reason := checkTDR(tdr); reason != "" {
		v.Add("transportDocumentReference", reason)
	}
	switch {
	case len(req.Legs) == 0:
		v.Add("legs", "name at least one leg")
	case len(req.Legs) > maxLegs:
		v.Add("legs", "at most "+strconv.Itoa(maxLegs)+" legs")
	}
	if err := v.Err(); err != nil {
		return pgstore.Shipment{}, err
	}
	var ids []string
	for _, l := range req.Legs {
		if l.BookingID != "" {
			ids = append(ids, l.BookingID)
		}
	}
	bookings, err := s.store.LegBookings(ctx, ids)
	if err != nil {
		return pgstore.Shipment{}, err
	}
	legs := make([]pgstore.ShipmentLeg, len(req.Legs))
	seen := map[string]bool{}
	var containers []string
	for i, in := range req.Legs {
		field := func(name string) string { return "legs[" + strconv.Itoa(i) + "]." + name }
		l := pgstore.ShipmentLeg{Seq: i + 1, Mode: in.Mode, CarrierCode: in.CarrierCode, TransportReference: in.TransportReference}
		if in.BookingID != "" {
			b, ok := bookings[in.BookingID]
			switch {
			case !ok || b.Tenant != tenant || b.Status == pgstore.BookingCancelled:
				v.Add(field("bookingId"), "no such booking")
			case seen[b.ID]:
				v.Add(field("bookingId"), "the booking is already an earlier leg")
			}
			seen[in.BookingID] = true
			if in.Mode != "" && in.Mode != "rail" {
				v.Add(field("mode"), "a booking leg is rail")
			}
			if in.PlannedDeparture != "" || in.PlannedArrival != "" {
				v.Add(field("plannedDeparture"), "a booking leg takes its times from the booking's departure")
			}
			if !ok || b.Tenant != tenant {
				legs[i] = l // nothing of another tenant's booking leaks into the checks below
				continue
			}
			l.Mode, l.BookingID, l.From, l.To = "rail", b.ID, b.From, b.To
			l.PlannedDeparture, l.PlannedArrival = b.PlannedDeparture, b.PlannedArrival
			if l.TransportReference == "" {
				l.TransportReference = b.TrainNumber
			}
			for _, end := range []struct{ name, given, want string }{{"from", in.From, b.From}, {"to", in.To, b.To}} {
				if code, err := unlocode.Parse(end.given); end.given != "" && (err != nil || string(code) != end.want) {
					v.Add(field(end.name), "is the booking's stop "+end.want)
				}
			}
			if !slices.Contains(containers, b.Container) {
				containers = append(containers, b.Container)
			}
			legs[i] = l
			continue
		}
		if _, ok := modes[in.Mode]; !ok {
			v.Add(field("mode"), "is one of rail, sea, road, air, barge")
		}
		from, err := unlocode.Parse(in.From)
		if err != nil {
			v.Add(field("from"), err.Error())
		}
		to, err := unlocode.Parse(in.To)
		if err != nil {
			v.Add(field("to"), err.Error())
		}
		l.From, l.To = string(from), string(to)
		dep, arr := optionalTime(v, field("plannedDeparture"), in.PlannedDeparture, true),
			optionalTime(v, field("plannedArrival"), in.PlannedArrival, true)
		if dep != nil && arr != nil && !arr.After(*dep) {
			v.Add(field("plannedArrival"), "must be after plannedDeparture")
		}
		l.PlannedDeparture, l.PlannedArrival = dep, arr
		legs[i] = l
	}
	// The legs chain: each starts where the one before ends, and no earlier than it arrives.
	for i := 1; i < len(legs); i++ {
		prev, l := legs[i-1], legs[i]
		if prev.To != "" && l.From != "" && prev.To != l.From {
			v.Add("legs["+strconv.Itoa(i)+"].from", "must be where leg "+strconv.Itoa(i)+" ends, "+prev.To)
		}
		if prev.PlannedArrival != nil && l.PlannedDeparture != nil && l.PlannedDeparture.Before(*prev.PlannedArrival) {
			v.Add("legs["+strconv.Itoa(i)+"].plannedDeparture", "is before leg "+strconv.Itoa(i)+" arrives")
		}
	}
	if len(req.EquipmentReferences) > 0 {
		// Naming a container grants its tenant the container's tracking (tracking reads
		// shipment.created): a shipper's containers come from its own bookings only, and only
		// a dispatcher vouches for the boxes of a shipment without booking legs.
		if p.Role == auth.RoleShipper {
			v.Add("equipmentReferences", "a shipper's containers come from its bookings; a dispatcher adds containers to a shipment without booking legs")
		} else if len(ids) > 0 {
			v.Add("equipmentReferences", "the containers of a shipment with booking legs are the bookings'")
		} else if len(req.EquipmentReferences) > maxContainers {
			v.Add("equipmentReferences", "at most "+strconv.Itoa(maxContainers)+" containers")
		}
		for i, c := range req.EquipmentReferences {
			no, err := iso6346.Parse(c)
			if err != nil {
				v.Add("equipmentReferences["+strconv.Itoa(i)+"]", err.Error())
				continue
			}
			if !slices.Contains(containers, string(no)) {
				containers = append(containers, string(no))
			}
		}
	}
	if err := v.Err(); err != nil {
		return pgstore.Shipment{}, err
	}
	slices.Sort(containers)
	spec := pgstore.ShipmentSpec{Tenant: tenant, TDR: tdr, Origin: legs[0].From, Destination: legs[len(legs)-1].To,
		Containers: containers, Legs: legs}
	return s.store.CreateShipmentThen(ctx, spec, func(tx pgx.Tx, sh pgstore.Shipment) (pgstore.ShipmentState, error) {
		pr := ShipmentProgress(sh.Legs, sh.Status)
		return pgstore.ShipmentState{Status: pr.Status, ETA: pr.ETA}, enqueue(ctx, tx, shipmentCreated(sh, pr, s.now()))
	})
}

// newTDR generates a transport document reference: SCODA and 10 digits or capital letters.
func newTDR() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "SCODA" + string(b)
}

// checkTDR says what is wrong with a transport document reference ("" when nothing): 1 to 20
// printable ASCII characters, no spaces.
func checkTDR(tdr string) string {
	if len(tdr) > maxTDRLength {
		return "at most " + strconv.Itoa(maxTDRLength) + " characters"
	}
	for i := 0; i < len(tdr); i++ {
		if tdr[i] <= ' ' || tdr[i] > '~' {
			return "printable ASCII characters without spaces only"
		}
	}
	return ""
}

// optionalTime parses an RFC 3339 time with an offset; "" is nil (a problem in v when required).
func optionalTime(v *apperr.ValidationError, field, s string, required bool) *time.Time {
	if s == "" {
		if required {
			v.Add(field, "is required")
		}
		return nil
	}
	t, err := rfc3339.Parse(s)
	if err != nil {
		v.Add(field, err.Error())
		return nil
	}
	at := t.Time()
	return &at
}

// --- reading -------------------------------------------------------------------------------

// Shipment returns one shipment. A shipper sees only its own tenant's: any other is
// apperr.ErrNotFound, as if it did not exist.
func (s *Scheduler) Shipment(ctx context.Context, p auth.Principal, id string) (pgstore.Shipment, error) {
	sh, err := s.store.Shipment(ctx, id)
	if err != nil {
		return pgstore.Shipment{}, err
	}
	if p.Role == auth.RoleShipper && sh.Tenant != p.Tenant {
		return pgstore.Shipment{}, fmt.Errorf("shipment %s: %w", id, apperr.ErrNotFound)
	}
	return sh, nil
}

// ShipmentQuery narrows and pages the shipment list.
type ShipmentQuery struct {
	TDR    string
	Limit  string
	Cursor string
}

// Shipments lists shipments newest first: a shipper's own tenant's only, everyone's for a
// dispatcher or admin. next is the cursor of the next page ("" on the last).
func (s *Scheduler) Shipments(ctx context.Context, p auth.Principal, q ShipmentQuery) (shs []pgstore.Shipment, next string, err error) {
	v := &apperr.ValidationError{}
	limit, after := pageArgs(v, q.Limit, q.Cursor)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	f := pgstore.ShipmentFilter{TDR: q.TDR}
	if p.Role == auth.RoleShipper {
		f.Tenant = p.Tenant
	}
	shs, k, err := s.store.ListShipments(ctx, f, after, limit)
	if k != nil {
		next = k.Encode()
	}
	return shs, next, err
}

// pageArgs parses a page's limit (1 to maxPageLimit, default defaultPageLimit) and cursor.
func pageArgs(v *apperr.ValidationError, limit, cursor string) (int, *paging.Cursor) {
	n, err := paging.Limit(limit, defaultPageLimit, maxPageLimit)
	if err != nil {
		v.Add("limit", err.Error())
	}
	after, err := paging.Decode(cursor, isUUID)
	if err != nil {
		v.Add("cursor", "not a cursor this API returned")
	}
	return n, after
}

// isUUID reports whether s is a UUID, as the ids in cursors of rows keyed by one are.
func isUUID(s string) bool { return uuid.Validate(s) == nil }

// BookingQuery narrows and pages the booking list.
type BookingQuery struct {
	Status      string
	DepartureID string
	Container   string
	Limit       string
	Cursor      string
}

// bookingStatusNames are the statuses a booking list may filter on.
var bookingStatusNames = []string{pgstore.BookingConfirmed, pgstore.BookingWaitlisted, pgstore.BookingReceived,
	pgstore.BookingLoaded, pgstore.BookingInTransit, pgstore.BookingArrived, pgstore.BookingDelivered, pgstore.BookingCancelled}

// Bookings lists bookings newest first: a shipper's own tenant's only, everyone's for a
// dispatcher or admin. next is the cursor of the next page ("" on the last).
func (s *Scheduler) Bookings(ctx context.Context, p auth.Principal, q BookingQuery) (bs []pgstore.Booking, next string, err error) {
	v := &apperr.ValidationError{}
	limit, after := pageArgs(v, q.Limit, q.Cursor)
	f := pgstore.BookingFilter{Status: q.Status, DepartureID: q.DepartureID}
	if q.Status != "" && !slices.Contains(bookingStatusNames, q.Status) {
		v.Add("status", "is one of "+fmt.Sprint(bookingStatusNames))
	}
	if q.DepartureID != "" {
		if _, err := uuid.Parse(q.DepartureID); err != nil {
			v.Add("departureId", "is not a departure id")
		}
	}
	if q.Container != "" {
		no, err := iso6346.Parse(q.Container)
		if err != nil {
			v.Add("container", err.Error())
		}
		f.Container = string(no)
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if p.Role == auth.RoleShipper {
		f.Tenant = p.Tenant
	}
	bs, k, err := s.store.ListBookings(ctx, f, after, limit)
	if k != nil {
		next = k.Encode()
	}
	return bs, next, err
}

// --- actuals -------------------------------------------------------------------------------

// LegActualsRequest reports an external leg's actual times (RFC 3339 with an offset) and, for
// the final leg, the delivery to the consignee.
type LegActualsRequest struct {
	ActualDeparture string `json:"actualDeparture"`
	ActualArrival   string `json:"actualArrival"`
	Delivered       bool   `json:"delivered"`
}

// RecordLegActuals records what the carrier of external leg seq reports, when the shipment is
// at the version ifMatch names, and bumps the version. In the same transaction it announces
// schedule.v1.shipment.leg_updated with the leg, and schedule.v1.shipment.status_changed and
// schedule.v1.eta.changed when the shipment's status changed or its ETA moved by more than
// Config.ETAThreshold.
//
// Errors: apperr.ErrPreconditionRequired/Failed, apperr.ErrNotFound (shipment or leg),
// apperr.ErrConflict (a booking leg: its actual times come from the field),
// *apperr.ValidationError.
func (s *Scheduler) RecordLegActuals(ctx context.Context, id, seq, ifMatch string, req LegActualsRequest) (pgstore.Shipment, error) {
	version, err := kitx.IfMatch(ifMatch)
	if err != nil {
		return pgstore.Shipment{}, err
	}
	n, err := strconv.Atoi(seq)
	if err != nil || n < 1 {
		return pgstore.Shipment{}, fmt.Errorf("leg %q: %w", seq, apperr.ErrNotFound)
	}
	v := &apperr.ValidationError{}
	a := pgstore.LegActuals{Departure: optionalTime(v, "actualDeparture", req.ActualDeparture, false),
		Arrival: optionalTime(v, "actualArrival", req.ActualArrival, false)}
	if a.Departure == nil && a.Arrival == nil && !req.Delivered && v.Err() == nil {
		v.Add("actualDeparture", "report an actual departure, an actual arrival or the delivery")
	}
	if err := v.Err(); err != nil {
		return pgstore.Shipment{}, err
	}
	return s.store.RecordLegActualsThen(ctx, id, version, n, a, func(tx pgx.Tx, before, after pgstore.Shipment) (pgstore.ShipmentState, error) {
		l := after.Legs[n-1]
		v := &apperr.ValidationError{}
		if l.ActualDeparture != nil && l.ActualArrival != nil && l.ActualArrival.Before(*l.ActualDeparture) {
			v.Add("actualArrival", "is before the leg's actual departure")
		}
		recorded := after.Status
		if req.Delivered {
			switch {
			case n != len(after.Legs):
				v.Add("delivered", "only the final leg delivers to the consignee")
			case l.ActualArrival == nil:
				v.Add("delivered", "the leg has no actual arrival yet")
			default:
				recorded = pgstore.ShipmentDelivered
			}
		}
		if err := v.Err(); err != nil {
			return pgstore.ShipmentState{}, err
		}
		now := s.now()
		pr := ShipmentProgress(after.Legs, recorded)
		evs := []events.Event{&schedulev1.ShipmentEvent{Envelope: envelope(after.Tenant, now), ShipmentId: after.ID,
			TransportDocumentReference: after.TDR, Change: &schedulev1.ShipmentEvent_LegUpdated{
				LegUpdated: &schedulev1.ShipmentLegUpdated{Leg: legProto(l, pr.Legs[n-1])}}}}
		state, changes := s.shipmentChanges(before, pr, schedulev1.EtaChangeReason_ETA_CHANGE_REASON_MILESTONE,
			"leg "+strconv.Itoa(n)+" reported by its carrier", now)
		return state, enqueue(ctx, tx, append(evs, changes...)...)
	})
}

// --- refreshing ----------------------------------------------------------------------------

// refreshShipments recomputes, in tx, the status and ETA of the shipments whose legs are the
// given bookings, and enqueues the events announcing what changed.
func (s *Scheduler) refreshShipments(ctx context.Context, tx pgx.Tx, bookingIDs ...string) error {
	return s.refreshShipmentsBecause(ctx, tx, schedulev1.EtaChangeReason_ETA_CHANGE_REASON_MILESTONE, "", bookingIDs...)
}

// refreshShipmentsBecause is refreshShipments with the reason (and its detail) an ETA change
// is announced with.
func (s *Scheduler) refreshShipmentsBecause(ctx context.Context, tx pgx.Tx, reason schedulev1.EtaChangeReason, detail string,
	bookingIDs ...string) error {
	shs, err := s.store.ShipmentsOfBookings(ctx, tx, bookingIDs)
	if err != nil {
		return err
	}
	now := s.now()
	for _, sh := range shs {
		pr := ShipmentProgress(sh.Legs, sh.Status)
		state, evs := s.shipmentChanges(sh, pr, reason, detail, now)
		if len(evs) == 0 {
			continue
		}
		if err := s.store.SetShipmentState(ctx, tx, sh.ID, state.Status, state.ETA); err != nil {
			return err
		}
		if err := enqueue(ctx, tx, evs...); err != nil {
			return err
		}
	}
	return nil
}

// shipmentChanges compares a shipment's new outlook with what was last recorded of it: the
// state to record and the events announcing a status change and an ETA that moved by more than
// Config.ETAThreshold (the announced ETA stays until then, so small moves do not add up
// unannounced).
func (s *Scheduler) shipmentChanges(sh pgstore.Shipment, pr ShipmentOutlook, reason schedulev1.EtaChangeReason, detail string,
	now time.Time) (pgstore.ShipmentState, []events.Event) {
	state := pgstore.ShipmentState{Status: pr.Status, ETA: sh.ETA}
	var evs []events.Event
	if pr.Status != sh.Status {
		evs = append(evs, &schedulev1.ShipmentEvent{Envelope: envelope(sh.Tenant, now), ShipmentId: sh.ID,
			TransportDocumentReference: sh.TDR, Change: &schedulev1.ShipmentEvent_StatusChanged{
				StatusChanged: &schedulev1.ShipmentStatusChanged{PreviousStatus: shipmentStatuses[sh.Status],
					Status: shipmentStatuses[pr.Status]}}})
	}
	if shipmentETAMoved(sh.ETA, pr.ETA, s.cfg.ETAThreshold) {
		state.ETA = pr.ETA
		evs = append(evs, &schedulev1.EtaEvent{Envelope: envelope(sh.Tenant, now), ShipmentId: sh.ID,
			TransportDocumentReference: sh.TDR, Change: &schedulev1.EtaEvent_Changed{Changed: &schedulev1.EtaChanged{
				PreviousEta: ts(sh.ETA), Eta: ts(pr.ETA), Location: location(sh.Destination), Reason: reason, Detail: detail}}})
	}
	return state, evs
}

// shipmentETAMoved says whether an ETA moved from old to eta by more than threshold; an ETA that is no
// longer known (nil) is not announced.
func shipmentETAMoved(old, eta *time.Time, threshold time.Duration) bool {
	switch {
	case eta == nil:
		return false
	case old == nil:
		return true
	default:
		return eta.Sub(*old).Abs() > threshold
	}
}

// --- events --------------------------------------------------------------------------------

func shipmentCreated(sh pgstore.Shipment, pr ShipmentOutlook, now time.Time) *schedulev1.ShipmentEvent {
	c := &schedulev1.ShipmentCreated{Origin: location(sh.Origin), Destination: location(sh.Destination),
		EquipmentReferences: sh.Containers}
	for i, l := range sh.Legs {
		c.Legs = append(c.Legs, legProto(l, pr.Legs[i]))
	}
	return &schedulev1.ShipmentEvent{Envelope: envelope(sh.Tenant, now), ShipmentId: sh.ID,
		TransportDocumentReference: sh.TDR, Change: &schedulev1.ShipmentEvent_Created{Created: c}}
}

func legProto(l pgstore.ShipmentLeg, p LegOutlook) *schedulev1.Leg {
	out := &schedulev1.Leg{Sequence: int32(l.Seq), ModeOfTransport: modes[l.Mode], From: location(l.From), To: location(l.To),
		CarrierCode: l.CarrierCode, TransportReference: l.TransportReference, BookingId: l.BookingID,
		PlannedDepartureAt: ts(l.PlannedDeparture), PlannedArrivalAt: ts(l.PlannedArrival),
		ActualDepartureAt: ts(l.ActualDeparture), ActualArrivalAt: ts(l.ActualArrival), EstimatedArrivalAt: ts(p.ETA)}
	if l.Booking != nil {
		out.DepartureId = l.Booking.DepartureID
	}
	return out
}

// --- HTTP ----------------------------------------------------------------------------------

// Who may call the shipment routes: shippers (their own tenant's) and dispatchers create and
// list; carriers also read one shipment by id (for its ETag) and report their legs' actual times.
var (
	legReporters    = []auth.Role{auth.RoleDispatcher, auth.RoleCarrier}
	shipmentReaders = []auth.Role{auth.RoleShipper, auth.RoleDispatcher, auth.RoleCarrier}
)

// mountShipments registers the shipment routes and the booking list.
func mountShipments(route router, s *Scheduler) {
	route("POST /v1/shipments", "shipment.create", makeCreateShipmentEndpoint(s), decodeCreateShipment, bookers...)
	route("GET /v1/shipments", "shipments", makeShipmentsEndpoint(s), decodeShipments, bookers...)
	route("GET /v1/shipments/{id}", "shipment", makeShipmentEndpoint(s), decodeShipment, shipmentReaders...)
	route("POST /v1/shipments/{id}/legs/{seq}/actuals", "shipment.leg.actuals", makeLegActualsEndpoint(s),
		decodeLegActuals, legReporters...)
	route("GET /v1/bookings", "bookings", makeBookingsEndpoint(s), decodeBookings, bookers...)
}

type createShipmentRequest struct{ ShipmentRequest }

type shipmentRequest struct{ ID string }

type shipmentsRequest struct {
	ShipmentQuery
	bad error
}

type bookingsRequest struct {
	BookingQuery
	bad error
}

type legActualsRequest struct {
	ID, Seq, IfMatch string
	LegActualsRequest
}

func decodeCreateShipment(_ context.Context, r *http.Request) (any, error) {
	var b ShipmentRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return createShipmentRequest{b}, nil
}

func decodeShipment(_ context.Context, r *http.Request) (any, error) {
	return shipmentRequest{ID: r.PathValue("id")}, nil
}

// onlyParams returns a *kitx.MalformedError for the first query parameter not in names, for
// the service to answer after the role check.
func onlyParams(r *http.Request, names ...string) error {
	for k := range r.URL.Query() {
		if !slices.Contains(names, k) {
			return &kitx.MalformedError{Field: k, Reason: "unknown query parameter"}
		}
	}
	return nil
}

func decodeShipments(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	return shipmentsRequest{ShipmentQuery: ShipmentQuery{TDR: q.Get("transportDocumentReference"), Limit: q.Get("limit"),
		Cursor: q.Get("cursor")}, bad: onlyParams(r, "transportDocumentReference", "limit", "cursor")}, nil
}

func decodeBookings(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	return bookingsRequest{BookingQuery: BookingQuery{Status: q.Get("status"), DepartureID: q.Get("departureId"),
		Container: q.Get("container"), Limit: q.Get("limit"), Cursor: q.Get("cursor")},
		bad: onlyParams(r, "status", "departureId", "container", "limit", "cursor")}, nil
}

func decodeLegActuals(_ context.Context, r *http.Request) (any, error) {
	var b LegActualsRequest
	if err := kitx.DecodeJSON(r, &b, maxBody); err != nil {
		return nil, err
	}
	return legActualsRequest{ID: r.PathValue("id"), Seq: r.PathValue("seq"), IfMatch: r.Header.Get("If-Match"),
		LegActualsRequest: b}, nil
}

// Wire formats.

type shipmentJSON struct {
	ID                         string     `json:"id"`
	Tenant                     string     `json:"tenant"`
	TransportDocumentReference string     `json:"transportDocumentReference"`
	Status                     string     `json:"status"`
	Origin                     string     `json:"origin"`
	Destination                string     `json:"destination"`
	ETA                        *time.Time `json:"eta,omitempty"`
	EquipmentReferences        []string   `json:"equipmentReferences"`
	Legs                       []legJSON  `json:"legs"`
	CreatedAt                  time.Time  `json:"createdAt"`
	Version                    int        `json:"version"`
}

type legJSON struct {
	Seq                int        `json:"seq"`
	Mode               string     `json:"mode"`
	From               string     `json:"from"`
	To                 string     `json:"to"`
	CarrierCode        string     `json:"carrierCode"`
	TransportReference string     `json:"transportReference"`
	BookingID          string     `json:"bookingId,omitempty"`
	DepartureID        string     `json:"departureId,omitempty"`
	Status             string     `json:"status"`
	PlannedDeparture   *time.Time `json:"plannedDeparture,omitempty"`
	PlannedArrival     *time.Time `json:"plannedArrival,omitempty"`
	ActualDeparture    *time.Time `json:"actualDeparture,omitempty"`
	ActualArrival      *time.Time `json:"actualArrival,omitempty"`
	EstimatedArrival   *time.Time `json:"estimatedArrival,omitempty"`
}

// toShipmentJSON shows a shipment with its status and ETA as its legs say now.
func toShipmentJSON(sh pgstore.Shipment) shipmentJSON {
	pr := ShipmentProgress(sh.Legs, sh.Status)
	out := shipmentJSON{ID: sh.ID, Tenant: sh.Tenant, TransportDocumentReference: sh.TDR, Status: pr.Status,
		Origin: sh.Origin, Destination: sh.Destination, ETA: pr.ETA, EquipmentReferences: sh.Containers,
		Legs: make([]legJSON, len(sh.Legs)), CreatedAt: sh.CreatedAt, Version: sh.Version}
	if out.EquipmentReferences == nil {
		out.EquipmentReferences = []string{}
	}
	for i, l := range sh.Legs {
		j := legJSON{Seq: l.Seq, Mode: l.Mode, From: l.From, To: l.To, CarrierCode: l.CarrierCode,
			TransportReference: l.TransportReference, BookingID: l.BookingID, Status: pr.Legs[i].Status,
			PlannedDeparture: l.PlannedDeparture, PlannedArrival: l.PlannedArrival, ActualDeparture: l.ActualDeparture,
			ActualArrival: l.ActualArrival, EstimatedArrival: pr.Legs[i].ETA}
		if l.Booking != nil {
			j.DepartureID = l.Booking.DepartureID
		}
		out.Legs[i] = j
	}
	return out
}

// shipmentResponse carries the shipment's version as its ETag; created answers 201.
type shipmentResponse struct {
	shipmentJSON
	created bool
	Err     error `json:"-"`
}

func (r shipmentResponse) Failed() error { return r.Err }

func (r shipmentResponse) Headers() http.Header {
	if r.Err != nil {
		return nil
	}
	return http.Header{"Etag": {kitx.ETag(r.Version)}}
}

func (r shipmentResponse) StatusCode() int {
	if r.created {
		return http.StatusCreated
	}
	return http.StatusOK
}

type shipmentsResponse struct {
	Shipments  []shipmentJSON `json:"shipments"`
	NextCursor string         `json:"nextCursor,omitempty"`
	Err        error          `json:"-"`
}

func (r shipmentsResponse) Failed() error { return r.Err }

type bookingsResponse struct {
	Bookings   []bookingJSON `json:"bookings"`
	NextCursor string        `json:"nextCursor,omitempty"`
	Err        error         `json:"-"`
}

func (r bookingsResponse) Failed() error { return r.Err }

func shipmentOut(sh pgstore.Shipment, created bool, err error) (any, error) {
	out := shipmentResponse{created: created, Err: kitx.Business(err)}
	if err == nil {
		out.shipmentJSON = toShipmentJSON(sh)
	}
	return out, kitx.Infra(err)
}

func makeCreateShipmentEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		sh, err := s.CreateShipment(ctx, principal(ctx), req.(createShipmentRequest).ShipmentRequest)
		return shipmentOut(sh, true, err)
	}
}

func makeShipmentEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		sh, err := s.Shipment(ctx, principal(ctx), req.(shipmentRequest).ID)
		return shipmentOut(sh, false, err)
	}
}

func makeLegActualsEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(legActualsRequest)
		sh, err := s.RecordLegActuals(ctx, r.ID, r.Seq, r.IfMatch, r.LegActualsRequest)
		return shipmentOut(sh, false, err)
	}
}

func makeShipmentsEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(shipmentsRequest)
		if r.bad != nil {
			return shipmentsResponse{Err: r.bad}, nil
		}
		shs, next, err := s.Shipments(ctx, principal(ctx), r.ShipmentQuery)
		out := shipmentsResponse{Shipments: make([]shipmentJSON, len(shs)), NextCursor: next, Err: kitx.Business(err)}
		for i, sh := range shs {
			out.Shipments[i] = toShipmentJSON(sh)
		}
		return out, kitx.Infra(err)
	}
}

func makeBookingsEndpoint(s *Scheduler) endpoint.Endpoint {
	return func(ctx context.Context, req any) (any, error) {
		r := req.(bookingsRequest)
		if r.bad != nil {
			return bookingsResponse{Err: r.bad}, nil
		}
		bs, next, err := s.Bookings(ctx, principal(ctx), r.BookingQuery)
		out := bookingsResponse{Bookings: make([]bookingJSON, len(bs)), NextCursor: next, Err: kitx.Business(err)}
		for i, b := range bs {
			out.Bookings[i] = toBookingJSON(b)
		}
		return out, kitx.Infra(err)
	}
}
