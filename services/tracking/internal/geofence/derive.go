package geofence

import (
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/geo"
)

// SourceID is the Source.id of derived events: they are reported by the
// tracking service itself (Source.type SOURCE_TYPE_SCODA).
const SourceID = "tracking"

// namespace is the UUIDv5 namespace of derived event ids. Never change it:
// ids derived before and after must stay equal for JetStream to dedupe a
// redelivered position fix's derivations.
var namespace = uuid.MustParse("acf0f104-a5ca-4905-8a95-83c22eba8a4a")

// DerivedEventID is the event id of the event derived for container from
// the position event positionEventID crossing geofence geofenceID: a UUIDv5
// of the four, so deriving again (a redelivered fix) gives the same id and
// the stream's dedupe keeps one event. The parts are joined with NUL, which
// none of them contains, so different parts never give the same name.
func DerivedEventID(container, geofenceID string, kind TransitionKind, positionEventID string) string {
	name := container + "\x00" + geofenceID + "\x00" + kind.String() + "\x00" + positionEventID
	return uuid.NewSHA1(namespace, []byte(name)).String()
}

// FixFromEvent returns the fix of a position event, or false when ev is not
// a position fix with a valid point and time.
func FixFromEvent(ev *trackingv1.ContainerEvent) (Fix, bool) {
	pos, at := ev.GetPosition(), ev.GetEnvelope().GetOccurredAt()
	if pos == nil || at == nil || at.CheckValid() != nil {
		return Fix{}, false
	}
	p, err := geo.NewPoint(pos.GetLatitude(), pos.GetLongitude())
	if err != nil {
		return Fix{}, false
	}
	return Fix{Point: p, At: at.AsTime(), EventID: ev.GetEnvelope().GetEventId()}, true
}

// Derive turns the transitions found at the position event fix (the newer
// fix of the pair) into container events, published like any other:
//
//   - Enter: a TransportEvent ARRI at the fence's place (and terminal);
//   - Exit: a TransportEvent DEPA there;
//   - BorderCrossed: a TransportEvent ARRI at the entry-side station, a
//     border-crossing facility (BOCR), with rail details: border_crossing,
//     exit and entry countries and, at a break of gauge, the gauges from
//     and to.
//
// Every event is actual (ACT), for container, with the fix's mode of
// transport and train number (mode RAIL when the fix has none but a train
// number, or for a border crossing: the corridor's borders are railway
// borders). The envelope: event_id from DerivedEventID (stable across
// re-derivation), occurred_at the transition's time, created_at and
// recorded_at now, source SCODA "tracking", causation_id the fix's event
// id, and the fix's tenant and references. Derivation names the geofence
// (Fence.ID, or BorderID for a crossing, whose transition is ENTER: into
// the entry country) and the fix.
func Derive(container string, fix *trackingv1.ContainerEvent, ts []Transition, now time.Time) []*trackingv1.ContainerEvent {
	if len(ts) == 0 {
		return nil
	}
	env, pos := fix.GetEnvelope(), fix.GetPosition()
	posID, train, mode := env.GetEventId(), pos.GetTrainNumber(), pos.GetModeOfTransport()
	if mode == commonv1.ModeOfTransport_MODE_OF_TRANSPORT_UNSPECIFIED && train != "" {
		mode = commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL
	}
	out := make([]*trackingv1.ContainerEvent, 0, len(ts))
	for _, t := range ts {
		geofenceID := t.Fence.ID
		transition := trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_ENTER
		eventType := trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI
		call := &trackingv1.TransportCall{ModeOfTransport: mode, Location: location(t.Fence)}
		if train != "" || mode == commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL {
			call.Rail = &trackingv1.RailDetails{TrainNumber: train}
		}
		switch t.Kind {
		case Enter:
		case Exit:
			transition = trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_EXIT
			eventType = trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA
		case BorderCrossed:
			c := t.Crossing
			if c == nil {
				continue
			}
			geofenceID = BorderID(c.From, c.To)
			call.ModeOfTransport = commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL
			call.Location.FacilityType = commonv1.FacilityType_FACILITY_TYPE_BOCR
			call.Rail = &trackingv1.RailDetails{
				TrainNumber:      train,
				BorderCrossing:   true,
				ExitCountryCode:  c.From.Country(),
				EntryCountryCode: c.To.Country(),
			}
			if c.FromGaugeMM > 0 && c.ToGaugeMM > 0 && c.FromGaugeMM != c.ToGaugeMM {
				call.Rail.GaugeFromMm = proto.Int32(int32(c.FromGaugeMM))
				call.Rail.GaugeToMm = proto.Int32(int32(c.ToGaugeMM))
			}
		default:
			continue
		}
		out = append(out, &trackingv1.ContainerEvent{
			Envelope: &commonv1.Envelope{
				EventId:            DerivedEventID(container, geofenceID, t.Kind, posID),
				OccurredAt:         timestamppb.New(t.At),
				CreatedAt:          timestamppb.New(now),
				RecordedAt:         timestamppb.New(now),
				TenantId:           env.GetTenantId(),
				Source:             &commonv1.Source{Type: commonv1.SourceType_SOURCE_TYPE_SCODA, Id: SourceID},
				CausationId:        posID,
				References:         cloneAll(env.GetReferences()),
				DocumentReferences: cloneAll(env.GetDocumentReferences()),
			},
			EquipmentReference: container,
			Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
			Derivation: &trackingv1.GeofenceDerivation{
				GeofenceId:      geofenceID,
				Transition:      transition,
				PositionEventId: posID,
			},
			Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{
				EventType:     eventType,
				TransportCall: call,
			}},
		})
	}
	return out
}

// location is where a fence's events take place: the place, and for a
// terminal its SMDG code (the corridor's terminals are port terminals of
// sea-rail legs).
func location(f Fence) *commonv1.Location {
	l := &commonv1.Location{UnLocationCode: string(f.Code), Name: f.Name}
	if f.Terminal != "" {
		l.FacilityCode = f.Terminal
		l.FacilityCodeListProvider = commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SMDG
		l.FacilityType = commonv1.FacilityType_FACILITY_TYPE_POTE
	}
	return l
}

func cloneAll[M proto.Message](ms []M) []M {
	if len(ms) == 0 {
		return nil
	}
	out := make([]M, len(ms))
	for i, m := range ms {
		out[i] = proto.Clone(m).(M)
	}
	return out
}
