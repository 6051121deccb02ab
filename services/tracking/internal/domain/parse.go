package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/dcsa"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/geo"
	"github.com/scodalabs/scoda/pkg/iso6346"
	"github.com/scodalabs/scoda/pkg/rfc3339"
	"github.com/scodalabs/scoda/pkg/unlocode"
)

// DefaultFutureHorizon is how far in the future an actual event (or any event's creation) may
// lie when Options.FutureHorizon is not set: clocks drift, but nothing has happened tomorrow.
const DefaultFutureHorizon = 24 * time.Hour

// Limits on one event. String lengths are in characters and follow DCSA where DCSA sets one.
const (
	MaxListItems = 50 // references, documentReferences, seals per event
	// maxProblems bounds the problems reported for one batch, so a batch of garbage does not
	// turn into a megabyte of problem+json.
	maxProblems = 500
)

// Times outside [minTime, maxTime) are rejected: they are typing errors, and the contract's
// timestamps must stay within what RFC 3339 and protobuf Timestamps can hold in any offset.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Options tune Parse.
type Options struct {
	// Now is the clock (default time.Now). RecordedAt is Now() and the future horizon counts
	// from it.
	Now func() time.Time
	// FutureHorizon is how far after Now an ACT event's eventDateTime, and any event's
	// eventCreatedDateTime, may be (default DefaultFutureHorizon). PLN and EST events may lie
	// further ahead: they are plans.
	FutureHorizon time.Duration
	// Source is who sent the events: the carrier principal or the gateway id
	// (Envelope.source.id).
	Source string
	// SourceType is the kind of sender (Envelope.source.type; default SOURCE_TYPE_CARRIER).
	SourceType commonv1.SourceType
	// AcceptDerived lets derivedFrom through. Only SCODA's own producers set it (replays, the
	// round trip): a carrier may not claim that SCODA derived its event.
	AcceptDerived bool
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FutureHorizon <= 0 {
		o.FutureHorizon = DefaultFutureHorizon
	}
	if o.SourceType == commonv1.SourceType_SOURCE_TYPE_UNSPECIFIED {
		o.SourceType = commonv1.SourceType_SOURCE_TYPE_CARRIER
	}
	return o
}

// Parse decodes and validates the items of a batch (from DecodeBatch) and maps them to the
// canonical ContainerEvent. It checks every item and returns either all events, in order, or
// nil and one *apperr.ValidationError naming every problem by item index, JSON path
// (e.g. "transportCall.UNLocationCode") and reason; the caller rejects the whole batch.
//
// Normalisation: codes are upper-cased, container numbers, UN/LOCODEs (aliases such as CNTAO
// become CNQIN), UUIDs and wagon numbers take their canonical form, times are stored in UTC
// with eventDateTime's offset kept. Each event's RecordedAt is opt.Now(), its Source is opt's,
// and its EventId the given eventID or ContentID(event).
func Parse(items []json.RawMessage, opt Options) ([]*trackingv1.ContainerEvent, error) {
	opt = opt.withDefaults()
	now := opt.Now()
	ve := &apperr.ValidationError{}
	out := make([]*trackingv1.ContainerEvent, 0, len(items))
	for i, raw := range items {
		p := itemParser{index: i, errs: ve, now: now, opt: &opt}
		ev := p.parse(raw)
		if p.failed || len(ve.Fields) > 0 {
			out = nil // keep checking for problems, stop building
			if len(ve.Fields) >= maxProblems {
				ve.Add("events", fmt.Sprintf("too many problems; the first %d are shown", maxProblems))
				break
			}
			continue
		}
		if ev.Envelope.EventId == "" {
			ev.Envelope.EventId = ContentID(ev)
		}
		ev.Envelope.RecordedAt = timestamppb.New(now.UTC())
		ev.Envelope.Source = &commonv1.Source{Type: opt.SourceType, Id: opt.Source}
		out = append(out, ev)
	}
	if err := ve.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// itemParser validates and maps one item, recording problems in errs.
type itemParser struct {
	index  int
	errs   *apperr.ValidationError
	now    time.Time
	opt    *Options
	failed bool
	skip   []fieldProblem // fields of the wrong JSON type
}

func (p *itemParser) add(field, reason string) {
	p.failed = true
	for _, te := range p.skip {
		if field == te.field || strings.HasPrefix(field, te.field+".") || strings.HasPrefix(field, te.field+"[") {
			return // reported as a type error already
		}
	}
	if len(p.errs.Fields) < maxProblems {
		p.errs.AddAt(p.index, field, reason)
	}
}

func (p *itemParser) parse(raw json.RawMessage) *trackingv1.ContainerEvent {
	if k := firstByte(raw); k != '{' {
		p.add("event", "must be a JSON object, got "+kindOf(k))
		return nil
	}
	in, typeErrs, err := decodeEvent(raw)
	if err != nil {
		p.add("event", "not a valid event: "+err.Error())
		return nil
	}
	// Fields of the wrong JSON type are reported, then left out of the checks below, so that
	// the item's other problems are reported too.
	for _, te := range typeErrs {
		p.add(te.field, te.reason)
	}
	p.skip = typeErrs

	t, err := dcsa.ParseEventType(in.EventType)
	if err != nil {
		p.add("eventType", codeReason("eventType", err))
	}

	env := &commonv1.Envelope{}
	ev := &trackingv1.ContainerEvent{Envelope: env}

	if in.EventID != "" {
		env.EventId = p.uuid("eventID", in.EventID)
	}

	// Classifier: required for DCSA types, ACT (and only ACT) for POSITION.
	classifier := normCode(in.EventClassifierCode)
	if classifier == "" && t == dcsa.EventTypePosition {
		classifier = string(dcsa.ClassifierActual)
	}
	if c, err := dcsa.ParseEventClassifierCode(classifier); err != nil {
		p.add("eventClassifierCode", codeReason("eventClassifierCode", err))
	} else if t == dcsa.EventTypePosition && c != dcsa.ClassifierActual {
		p.add("eventClassifierCode", fmt.Sprintf("POSITION events are always ACT, got %s", c))
	} else if v, ok := toEnum(trackingv1.EventClassifier_value, prefixClassifier, string(c)); ok {
		ev.Classifier = trackingv1.EventClassifier(v)
	}

	// Times.
	occurred, okOccurred := p.time("eventDateTime", in.EventDateTime, true)
	if okOccurred {
		env.OccurredAt = timestamppb.New(occurred.UTC())
		off := int32(occurred.Offset())
		env.OccurredOffsetSeconds = &off
		if ev.Classifier == trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT {
			p.notFuture("eventDateTime", occurred.UTC())
		}
	}
	if in.EventCreatedDateTime == "" && t == dcsa.EventTypePosition {
		if okOccurred {
			env.CreatedAt = timestamppb.New(occurred.UTC())
		}
	} else if created, ok := p.time("eventCreatedDateTime", in.EventCreatedDateTime, true); ok {
		env.CreatedAt = timestamppb.New(created.UTC())
		p.notFuture("eventCreatedDateTime", created.UTC())
	}

	// The container.
	if in.EquipmentReference != "" {
		if n, err := iso6346.Parse(in.EquipmentReference); err != nil {
			p.add("equipmentReference", parseReason(err))
		} else {
			ev.EquipmentReference = n.String()
		}
	} else {
		switch {
		case t == dcsa.EventTypeEquipment:
			p.add("equipmentReference", "required for EQUIPMENT events (an ISO 6346 container number)")
		case t == dcsa.EventTypePosition && strings.TrimSpace(in.TrainNumber) == "":
			p.add("equipmentReference", "required for POSITION events unless trainNumber is given")
		}
	}

	env.References, env.DocumentReferences = p.references(in.References, in.DocumentReferences)

	p.rejectForeign(t, &in)

	switch t {
	case dcsa.EventTypeEquipment:
		ev.Payload = &trackingv1.ContainerEvent_Equipment{Equipment: p.equipment(&in)}
	case dcsa.EventTypeTransport:
		ev.Payload = &trackingv1.ContainerEvent_Transport{Transport: p.transport(&in)}
	case dcsa.EventTypeShipment:
		ev.Payload = &trackingv1.ContainerEvent_Shipment{Shipment: p.shipment(&in)}
	case dcsa.EventTypePosition:
		ev.Payload = &trackingv1.ContainerEvent_Position{Position: p.position(&in)}
	}

	if in.DerivedFrom != nil {
		if !p.opt.AcceptDerived {
			p.add("derivedFrom", "set by SCODA only; not accepted on ingest")
		} else {
			ev.Derivation = p.derivation(in.DerivedFrom)
		}
	}
	if p.failed {
		return nil
	}
	return ev
}

// firstByte returns the first byte of raw that is not JSON white space (0 if none).
func firstByte(raw []byte) byte {
	for _, c := range raw {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// kindOf names the JSON value that starts with c.
func kindOf(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "true/false"
	case c == '-' || ('0' <= c && c <= '9'):
		return "a number"
	}
	return "nothing"
}

// parseReason is the client-facing reason of an error from a pkg parser.
func parseReason(err error) string {
	var (
		iso *iso6346.ParseError
		un  *unlocode.ParseError
		ts  *rfc3339.ParseError
		gf  *geo.FieldError
	)
	switch {
	case errors.As(err, &iso):
		return iso.Reason
	case errors.As(err, &un):
		return un.Reason
	case errors.As(err, &ts):
		if strings.HasPrefix(ts.Reason, "offset") {
			return ts.Reason + " (e.g. 2026-05-01T10:00:00+08:00)"
		}
		return ts.Reason
	case errors.As(err, &gf):
		return gf.Reason
	}
	return err.Error()
}

// time parses an RFC 3339 timestamp with offset.
func (p *itemParser) time(field, s string, required bool) (rfc3339.Time, bool) {
	if s == "" {
		if required {
			p.add(field, "required (RFC 3339 with offset, e.g. 2026-05-01T10:00:00+08:00)")
		}
		return rfc3339.Time{}, false
	}
	t, err := rfc3339.Parse(s)
	if err != nil {
		p.add(field, parseReason(err))
		return rfc3339.Time{}, false
	}
	if u := t.UTC(); u.Before(minTime) || !u.Before(maxTime) {
		p.add(field, fmt.Sprintf("%s is outside the years 1970 to 2099", quoteShort(s)))
		return rfc3339.Time{}, false
	}
	return t, true
}

// notFuture rejects t when it lies more than the horizon after now.
func (p *itemParser) notFuture(field string, t time.Time) {
	if ahead := t.Sub(p.now); ahead > p.opt.FutureHorizon {
		p.add(field, fmt.Sprintf("is %s in the future; at most %s allowed", humanDuration(ahead), humanDuration(p.opt.FutureHorizon)))
	}
}

// humanDuration writes d for a reason: "3 days", "26h", "90m", "45s".
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int64(d/(24*time.Hour)))
	case d >= time.Hour && d%time.Hour == 0 || d >= 2*time.Hour:
		return fmt.Sprintf("%dh", int64(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int64(d/time.Minute))
	default:
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
}

// uuid checks a UUID in its canonical 36-character form and returns it in lower case.
func (p *itemParser) uuid(field, s string) string {
	u, err := uuid.Parse(s)
	switch {
	case len(s) != 36 || err != nil:
		p.add(field, fmt.Sprintf("%s is not a UUID (e.g. 0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b10)", quoteShort(s)))
		return ""
	case u == uuid.Nil:
		p.add(field, "must not be the nil UUID")
		return ""
	}
	return u.String()
}

// text checks a free-text field: at most max characters, no control characters but tab and
// line breaks. It is kept as given.
func (p *itemParser) text(field, s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		p.add(field, fmt.Sprintf("is %d characters long; at most %d allowed", n, max))
		return ""
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f {
			p.add(field, "contains a control character")
			return ""
		}
	}
	return s
}

// ident checks an identifier: trimmed, at most max characters, no control characters and no
// white space but the plain space.
func (p *itemParser) ident(field, s string, max int) string {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > max {
		p.add(field, fmt.Sprintf("is %d characters long; at most %d allowed", n, max))
		return ""
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r != ' ' && isSpace(r)) {
			p.add(field, "contains a control or white-space character")
			return ""
		}
	}
	return s
}

func isSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x85, 0xA0, 0x2028, 0x2029, 0x3000:
		return true
	}
	return false
}

// code checks a value against a SCODA code list; "" stays "".
func (p *itemParser) code(field string, set codeSet, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	c, err := set.parse(s)
	if err != nil {
		p.add(field, codeReason(set.field, err))
	}
	return c
}

// unlocode parses a UN/LOCODE, resolving aliases (CNTAO -> CNQIN).
func (p *itemParser) unlocode(field, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	c, err := unlocode.Parse(s)
	if err != nil {
		p.add(field, parseReason(err))
		return ""
	}
	return c.String()
}

// country checks an ISO 3166-1 alpha-2 code.
func (p *itemParser) country(field, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	c := normCode(s)
	if !unlocode.IsCountry(c) {
		p.add(field, fmt.Sprintf("%s is not an assigned ISO 3166-1 alpha-2 country code", quoteShort(s)))
		return ""
	}
	return c
}

// references maps references and documentReferences. A reference of type CNN (CIM/SMGS
// consignment note) becomes a document reference, after the given ones.
func (p *itemParser) references(refs []DCSAReference, docs []DCSADocumentReference) ([]*commonv1.Reference, []*commonv1.DocumentReference) {
	const maxValue = 100 // DCSA referenceValue and documentReferenceValue
	var (
		outRefs []*commonv1.Reference
		outDocs []*commonv1.DocumentReference
		cnn     []*commonv1.DocumentReference
	)
	if len(refs) > MaxListItems {
		p.add("references", fmt.Sprintf("at most %d references per event, got %d", MaxListItems, len(refs)))
		refs = nil
	}
	if len(docs) > MaxListItems {
		p.add("documentReferences", fmt.Sprintf("at most %d document references per event, got %d", MaxListItems, len(docs)))
		docs = nil
	}
	for i, d := range docs {
		path := "documentReferences[" + strconv.Itoa(i) + "]"
		code := p.code(path+".documentReferenceType", documentReferenceTypeSet, d.DocumentReferenceType)
		if code == "" && strings.TrimSpace(d.DocumentReferenceType) == "" {
			p.add(path+".documentReferenceType", "required (one of "+strings.Join(documentReferenceTypeSet.codes, ", ")+")")
		}
		v := p.required(path+".documentReferenceValue", p.ident(path+".documentReferenceValue", d.DocumentReferenceValue, maxValue))
		outDocs = append(outDocs, &commonv1.DocumentReference{Type: documentReferenceType(code), Value: v})
	}
	for i, r := range refs {
		path := "references[" + strconv.Itoa(i) + "]"
		code := p.code(path+".referenceType", referenceTypeSet, r.ReferenceType)
		if code == "" && strings.TrimSpace(r.ReferenceType) == "" {
			p.add(path+".referenceType", "required (one of "+strings.Join(referenceTypeSet.codes, ", ")+")")
		}
		v := p.required(path+".referenceValue", p.ident(path+".referenceValue", r.ReferenceValue, maxValue))
		if code == cnnReference {
			cnn = append(cnn, &commonv1.DocumentReference{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CIM_SMGS_CONSIGNMENT_NOTE, Value: v})
			continue
		}
		outRefs = append(outRefs, &commonv1.Reference{Type: referenceTypes[code], Value: v})
	}
	outDocs = append(outDocs, cnn...)
	if len(outDocs) > MaxListItems {
		p.add("references", fmt.Sprintf("at most %d document references per event, CNN references included, got %d", MaxListItems, len(outDocs)))
	}
	return outRefs, outDocs
}

// required reports an empty value of a field that must be given (when ident or text did not
// already report it).
func (p *itemParser) required(field, v string) string {
	if v == "" && !p.hasProblem(field) {
		p.add(field, "required")
	}
	return v
}

func (p *itemParser) hasProblem(field string) bool {
	for i := len(p.errs.Fields) - 1; i >= 0; i-- {
		f := p.errs.Fields[i]
		if f.Index == nil || *f.Index != p.index {
			break
		}
		if f.Field == field {
			return true
		}
	}
	return false
}

// rejectForeign reports fields that belong to another event type: a carrier that sends an
// equipmentEventTypeCode on a TRANSPORT event has made a mistake, and the contract could not
// keep the value anyway.
func (p *itemParser) rejectForeign(t dcsa.EventType, in *DCSAEvent) {
	if !t.Valid() {
		return
	}
	type use struct {
		field string
		set   bool
		types string // the event types the field belongs to
	}
	uses := []use{
		{"equipmentEventTypeCode", in.EquipmentEventTypeCode != "", "EQUIPMENT"},
		{"transportEventTypeCode", in.TransportEventTypeCode != "", "TRANSPORT"},
		{"shipmentEventTypeCode", in.ShipmentEventTypeCode != "", "SHIPMENT"},
		{"documentTypeCode", in.DocumentTypeCode != "", "SHIPMENT"},
		{"documentID", in.DocumentID != "", "SHIPMENT"},
		{"reason", in.Reason != "", "SHIPMENT"},
		{"ISOEquipmentCode", in.ISOEquipmentCode != "", "EQUIPMENT"},
		{"emptyIndicatorCode", in.EmptyIndicatorCode != "", "EQUIPMENT"},
		{"eventLocation", in.EventLocation != nil, "EQUIPMENT"},
		{"seals", len(in.Seals) > 0, "EQUIPMENT"},
		{"transportCall", in.TransportCall != nil, "EQUIPMENT TRANSPORT"},
		{"delayReasonCode", in.DelayReasonCode != "", "TRANSPORT"},
		{"changeRemark", in.ChangeRemark != "", "TRANSPORT"},
		{"latitude", in.Latitude != nil, "POSITION"},
		{"longitude", in.Longitude != nil, "POSITION"},
		{"speedKmh", in.SpeedKmh != nil, "POSITION"},
		{"headingDeg", in.HeadingDeg != nil, "POSITION"},
		{"accuracyM", in.AccuracyM != nil, "POSITION"},
		{"positionSource", in.PositionSource != "", "POSITION"},
		{"deviceID", in.DeviceID != "", "POSITION"},
		{"trainNumber", in.TrainNumber != "", "POSITION"},
		{"modeOfTransport", in.ModeOfTransport != "", "POSITION"},
	}
	for _, u := range uses {
		if u.set && !strings.Contains(u.types, string(t)) {
			p.add(u.field, fmt.Sprintf("not used on %s events (only on %s)", t, strings.ReplaceAll(u.types, " ", ", ")))
		}
	}
}

func (p *itemParser) equipment(in *DCSAEvent) *trackingv1.EquipmentEvent {
	out := &trackingv1.EquipmentEvent{}
	if c, err := dcsa.ParseEquipmentEventTypeCode(in.EquipmentEventTypeCode); err != nil {
		p.add("equipmentEventTypeCode", codeReason("equipmentEventTypeCode", err))
	} else if v, ok := toEnum(trackingv1.EquipmentEventType_value, prefixEquipment, string(c)); ok {
		out.EventType = trackingv1.EquipmentEventType(v)
	}
	if in.ISOEquipmentCode != "" {
		out.IsoEquipmentCode = p.isoEquipmentCode(in.ISOEquipmentCode)
	}
	if in.EmptyIndicatorCode != "" {
		if c, err := dcsa.ParseEmptyIndicatorCode(in.EmptyIndicatorCode); err != nil {
			p.add("emptyIndicatorCode", codeReason("emptyIndicatorCode", err))
		} else if v, ok := toEnum(trackingv1.EmptyIndicator_value, prefixEmpty, string(c)); ok {
			out.EmptyIndicator = trackingv1.EmptyIndicator(v)
		}
	}
	if in.EventLocation != nil {
		if loc := p.location("eventLocation", in.EventLocation, nil); !proto0(loc) {
			out.EventLocation = loc
		}
	}
	if in.TransportCall != nil {
		out.TransportCall = p.transportCall(in.TransportCall)
	}
	out.Seals = p.seals(in.Seals)
	return out
}

// isoEquipmentCode checks an ISO 6346 size and type code: 4 characters of A-Z and 0-9
// (e.g. 45G1, 22G1, L5G1).
func (p *itemParser) isoEquipmentCode(s string) string {
	c := normCode(s)
	ok := len(c) == 4
	for i := 0; ok && i < len(c); i++ {
		ok = ('A' <= c[i] && c[i] <= 'Z') || ('0' <= c[i] && c[i] <= '9')
	}
	if !ok {
		p.add("ISOEquipmentCode", fmt.Sprintf("%s is not an ISO 6346 size and type code (4 characters, e.g. 45G1)", quoteShort(s)))
		return ""
	}
	return c
}

func (p *itemParser) seals(in []DCSASeal) []*trackingv1.Seal {
	if len(in) > MaxListItems {
		p.add("seals", fmt.Sprintf("at most %d seals per event, got %d", MaxListItems, len(in)))
		return nil
	}
	var out []*trackingv1.Seal
	for i, s := range in {
		path := "seals[" + strconv.Itoa(i) + "]"
		seal := &trackingv1.Seal{
			SealNumber: p.required(path+".sealNumber", p.ident(path+".sealNumber", s.SealNumber, 15)),
		}
		if c := p.code(path+".sealSource", sealSources, s.SealSource); c != "" {
			v, _ := toEnum(trackingv1.SealSource_value, prefixSealSource, c)
			seal.Source = trackingv1.SealSource(v)
		}
		if c := p.code(path+".sealType", sealTypes, s.SealType); c != "" {
			v, _ := toEnum(trackingv1.SealType_value, prefixSealType, c)
			seal.Type = trackingv1.SealType(v)
		}
		out = append(out, seal)
	}
	return out
}

// location maps a DCSA Location. callCode, for a transport call's nested location, is the
// call's own UN/LOCODE, which the nested one must not contradict.
func (p *itemParser) location(path string, in *DCSALocation, callCode *string) *commonv1.Location {
	out := &commonv1.Location{
		Name:           p.text(path+".locationName", in.LocationName, 100),
		UnLocationCode: p.unlocode(path+".UNLocationCode", in.UNLocationCode),
	}
	if callCode != nil && out.UnLocationCode != "" {
		if *callCode != "" && *callCode != out.UnLocationCode {
			p.add(path+".UNLocationCode", fmt.Sprintf("%s contradicts transportCall.UNLocationCode %s", out.UnLocationCode, *callCode))
		}
		*callCode = out.UnLocationCode
		out.UnLocationCode = ""
	}
	p.coordinate(path+".latitude", in.Latitude, -90, 90)
	p.coordinate(path+".longitude", in.Longitude, -180, 180)
	out.FacilityCode, out.FacilityCodeListProvider = p.facility(path, in.FacilityCode, in.FacilityCodeListProvider)
	if in.FacilityTypeCode != "" {
		if callCode != nil {
			p.add(path+".facilityTypeCode", "give it on the transport call (transportCall.facilityTypeCode)")
		} else {
			ft, reason := facilityType(in.FacilityTypeCode, false)
			if reason != "" {
				p.add(path+".facilityTypeCode", reason)
			}
			out.FacilityType = ft
		}
	}
	return out
}

// coordinate checks an eventLocation coordinate (not kept; see DCSALocation).
func (p *itemParser) coordinate(field string, f looseFloat, lo, hi float64) {
	if !f.set {
		return
	}
	v, ok := f.value()
	switch {
	case !ok:
		p.add(field, "must be a number in decimal degrees")
	case math.IsNaN(v) || math.IsInf(v, 0):
		p.add(field, "must be a finite number")
	case v < lo || v > hi:
		p.add(field, fmt.Sprintf("%s %s is outside %g..%g", field[strings.LastIndexByte(field, '.')+1:], strconv.FormatFloat(v, 'f', -1, 64), lo, hi))
	}
}

// facility checks a facility code and its list provider, which DCSA requires together.
func (p *itemParser) facility(path, code, provider string) (string, commonv1.FacilityCodeListProvider) {
	prov := p.code(path+".facilityCodeListProvider", facilityCodeListProviders, provider)
	code = strings.TrimSpace(code)
	if code == "" {
		if prov != "" {
			p.add(path+".facilityCode", "required with facilityCodeListProvider")
		}
		return "", 0
	}
	max := 6 // DCSA (SMDG and BIC codes)
	if prov == "SCODA" {
		max = 35 // SCODA's own station and yard codes are longer
	}
	code = p.ident(path+".facilityCode", normCode(code), max)
	if prov == "" && strings.TrimSpace(provider) == "" {
		p.add(path+".facilityCodeListProvider", "required with facilityCode (one of "+strings.Join(facilityCodeListProviders.codes, ", ")+")")
	}
	v, _ := toEnum(commonv1.FacilityCodeListProvider_value, prefixProvider, prov)
	return code, commonv1.FacilityCodeListProvider(v)
}

func (p *itemParser) transportCall(in *DCSATransport) *trackingv1.TransportCall {
	const path = "transportCall"
	out := &trackingv1.TransportCall{
		TransportCallReference: p.ident(path+".transportCallReference", in.TransportCallReference, 100),
		CarrierServiceCode:     p.ident(path+".carrierServiceCode", in.CarrierServiceCode, 20),
		ExportVoyageNumber:     p.ident(path+".exportVoyageNumber", in.ExportVoyageNumber, 50),
		ImportVoyageNumber:     p.ident(path+".importVoyageNumber", in.ImportVoyageNumber, 50),
	}
	if n := in.TransportCallSequenceNumber; n != nil {
		if *n < 1 || *n > math.MaxInt32 {
			p.add(path+".transportCallSequenceNumber", fmt.Sprintf("%d is outside 1..%d", *n, math.MaxInt32))
		} else {
			v := int32(*n)
			out.SequenceNumber = &v
		}
	}
	if strings.TrimSpace(in.ModeOfTransport) == "" {
		p.add(path+".modeOfTransport", "required (one of "+joinModes()+")")
	} else if m, reason := mode(in.ModeOfTransport); reason != "" {
		p.add(path+".modeOfTransport", reason)
	} else {
		out.ModeOfTransport = m
	}

	loc := &commonv1.Location{UnLocationCode: p.unlocode(path+".UNLocationCode", in.UNLocationCode)}
	loc.FacilityCode, loc.FacilityCodeListProvider = p.facility(path, in.FacilityCode, in.FacilityCodeListProvider)
	if in.FacilityTypeCode != "" {
		ft, reason := facilityType(in.FacilityTypeCode, true)
		if reason != "" {
			p.add(path+".facilityTypeCode", reason)
		}
		loc.FacilityType = ft
	}
	if in.Location != nil {
		nested := p.location(path+".location", in.Location, &loc.UnLocationCode)
		loc.Name = nested.Name
		if nested.FacilityCode != "" {
			p.add(path+".location.facilityCode", "give it on the transport call (transportCall.facilityCode)")
		}
	}
	if loc.UnLocationCode != "" || loc.FacilityCode != "" || loc.FacilityType != 0 || loc.Name != "" {
		out.Location = loc
	}

	m := out.ModeOfTransport
	if in.Vessel != nil {
		if m != commonv1.ModeOfTransport_MODE_OF_TRANSPORT_VESSEL && m != commonv1.ModeOfTransport_MODE_OF_TRANSPORT_BARGE && m != 0 {
			p.add(path+".vessel", "only for modeOfTransport VESSEL or BARGE")
		}
		out.Vessel = p.vessel(in.Vessel, m == commonv1.ModeOfTransport_MODE_OF_TRANSPORT_BARGE)
	}
	if in.Rail != nil {
		if m != commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL && m != 0 {
			p.add(path+".rail", "only for modeOfTransport RAIL")
		}
		out.Rail = p.rail(in.Rail, out.Location)
	}
	if in.VehicleReference != "" {
		if m != commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK && m != commonv1.ModeOfTransport_MODE_OF_TRANSPORT_AIR && m != 0 {
			p.add(path+".vehicleReference", "only for modeOfTransport TRUCK (licence plate) or AIR (flight number)")
		}
		out.VehicleReference = p.ident(path+".vehicleReference", in.VehicleReference, 20)
	}
	return out
}

func joinModes() string {
	var s []string
	for _, m := range dcsa.ModesOfTransport() {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

func (p *itemParser) vessel(in *DCSAVessel, barge bool) *trackingv1.Vessel {
	const path = "transportCall.vessel"
	out := &trackingv1.Vessel{
		Name:                p.text(path+".vesselName", in.VesselName, 35),
		Flag:                p.country(path+".vesselFlag", in.VesselFlag),
		CallSign:            p.ident(path+".vesselCallSignNumber", normCode(in.VesselCallSignNumber), 10),
		OperatorCarrierCode: p.ident(path+".vesselOperatorCarrierCode", normCode(in.VesselOperatorCarrierCode), 10),
	}
	if s := strings.TrimSpace(in.VesselIMONumber); s != "" {
		if reason := checkIMO(s, barge); reason != "" {
			p.add(path+".vesselIMONumber", reason)
		} else {
			out.ImoNumber = s
		}
	}
	if proto0(out) {
		return nil
	}
	return out
}

// checkIMO checks an IMO ship identification number: 7 digits, the last a check digit (the
// first six weighted 7, 6, 5, 4, 3, 2, summed, modulo 10). Inland barges without one may send
// their 8-digit ENI number instead.
func checkIMO(s string, barge bool) string {
	if !allDigits(s) {
		return fmt.Sprintf("%s is not an IMO number (7 digits)", quoteShort(s))
	}
	if len(s) == 8 && barge {
		return "" // ENI
	}
	if len(s) != 7 {
		if barge {
			return fmt.Sprintf("has %d digits; an IMO number has 7 (an ENI number 8)", len(s))
		}
		return fmt.Sprintf("has %d digits; an IMO number has 7", len(s))
	}
	sum := 0
	for i := 0; i < 6; i++ {
		sum += int(s[i]-'0') * (7 - i)
	}
	if want, got := sum%10, int(s[6]-'0'); got != want {
		return fmt.Sprintf("IMO check digit is %d, expected %d", got, want)
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// gauges are the track gauges (mm) of the networks the hub's trains may run on: metre, Cape,
// standard, Russian (1520) and Finnish (1524), Irish, Iberian and Indian broad gauge.
var gauges = []int64{1000, 1067, 1435, 1520, 1524, 1600, 1668, 1676}

func (p *itemParser) rail(in *DCSARail, loc *commonv1.Location) *trackingv1.RailDetails {
	const path = "transportCall.rail"
	out := &trackingv1.RailDetails{
		TrainNumber:      p.ident(path+".trainNumber", in.TrainNumber, 20),
		WagonNumber:      p.wagon(path+".wagonNumber", in.WagonNumber),
		BorderCrossing:   in.BorderCrossing,
		ExitCountryCode:  p.country(path+".exitCountryCode", in.ExitCountryCode),
		EntryCountryCode: p.country(path+".entryCountryCode", in.EntryCountryCode),
	}
	if in.BorderCrossing {
		if strings.TrimSpace(in.ExitCountryCode) == "" {
			p.add(path+".exitCountryCode", "required when borderCrossing is true")
		}
		if strings.TrimSpace(in.EntryCountryCode) == "" {
			p.add(path+".entryCountryCode", "required when borderCrossing is true")
		}
		if out.ExitCountryCode != "" && out.ExitCountryCode == out.EntryCountryCode {
			p.add(path+".entryCountryCode", "must differ from exitCountryCode")
		}
	} else if in.ExitCountryCode != "" || in.EntryCountryCode != "" {
		p.add(path+".borderCrossing", "must be true when exitCountryCode or entryCountryCode is given")
	}
	out.GaugeFromMm = p.gauge(path+".gaugeFromMM", in.GaugeFromMM)
	out.GaugeToMm = p.gauge(path+".gaugeToMM", in.GaugeToMM)
	if (in.GaugeFromMM == nil) != (in.GaugeToMM == nil) {
		p.add(path+".gaugeToMM", "gaugeFromMM and gaugeToMM are given together (a break of gauge)")
	}
	if proto0(out) {
		return nil
	}
	return out
}

func (p *itemParser) gauge(field string, mm *int64) *int32 {
	if mm == nil {
		return nil
	}
	for _, g := range gauges {
		if *mm == g {
			v := int32(g)
			return &v
		}
	}
	s := make([]string, len(gauges))
	for i, g := range gauges {
		s[i] = strconv.FormatInt(g, 10)
	}
	p.add(field, fmt.Sprintf("%d is not a track gauge in use (allowed: %s)", *mm, strings.Join(s, ", ")))
	return nil
}

// wagon checks a wagon number: 12 digits (UIC, the last a check digit) or 8 digits (the
// 1520 mm network). Spaces and hyphens of the printed form ("31 80 4578 123-4") are dropped.
func (p *itemParser) wagon(field, s string) string {
	if s == "" {
		return ""
	}
	d := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
	switch {
	case !allDigits(d) || (len(d) != 12 && len(d) != 8):
		p.add(field, fmt.Sprintf("%s is not a wagon number (12 UIC digits, or 8 on the 1520 mm network)", quoteShort(s)))
		return ""
	case len(d) == 12:
		if want, got := uicCheckDigit(d[:11]), int(d[11]-'0'); got != want {
			p.add(field, fmt.Sprintf("UIC check digit is %d, expected %d", got, want))
			return ""
		}
	}
	return d
}

// uicCheckDigit is the UIC wagon number self-check digit (UIC 438): the 11 digits are weighted
// 2, 1, 2, ... from the left, the digits of the products summed, and the check digit brings the
// sum to a multiple of ten.
func uicCheckDigit(d string) int {
	sum := 0
	for i := 0; i < len(d); i++ {
		v := int(d[i] - '0')
		if i%2 == 0 {
			v *= 2
		}
		sum += v/10 + v%10
	}
	return (10 - sum%10) % 10
}

func (p *itemParser) transport(in *DCSAEvent) *trackingv1.TransportEvent {
	out := &trackingv1.TransportEvent{
		ChangeRemark: p.text("changeRemark", in.ChangeRemark, 250),
	}
	if c, err := dcsa.ParseTransportEventTypeCode(in.TransportEventTypeCode); err != nil {
		p.add("transportEventTypeCode", codeReason("transportEventTypeCode", err))
	} else if v, ok := toEnum(trackingv1.TransportEventType_value, prefixTransport, string(c)); ok {
		out.EventType = trackingv1.TransportEventType(v)
	}
	if in.TransportCall == nil {
		p.add("transportCall", "required for TRANSPORT events")
	} else {
		out.TransportCall = p.transportCall(in.TransportCall)
	}
	if s := in.DelayReasonCode; s != "" {
		c := normCode(s)
		ok := len(c) == 3
		for i := 0; ok && i < 3; i++ {
			ok = 'A' <= c[i] && c[i] <= 'Z'
		}
		if !ok {
			p.add("delayReasonCode", fmt.Sprintf("%s is not an SMDG delay reason code (3 letters, e.g. WEA)", quoteShort(s)))
		} else {
			out.DelayReasonCode = c
		}
	}
	return out
}

func (p *itemParser) shipment(in *DCSAEvent) *trackingv1.ShipmentEvent {
	out := &trackingv1.ShipmentEvent{
		DocumentId: p.required("documentID", p.ident("documentID", in.DocumentID, 100)),
		Reason:     p.text("reason", in.Reason, 250),
	}
	if c, err := dcsa.ParseShipmentEventTypeCode(in.ShipmentEventTypeCode); err != nil {
		p.add("shipmentEventTypeCode", codeReason("shipmentEventTypeCode", err))
	} else if v, ok := toEnum(trackingv1.ShipmentEventType_value, prefixShipment, string(c)); ok {
		out.EventType = trackingv1.ShipmentEventType(v)
	}
	if c, err := dcsa.ParseDocumentTypeCode(in.DocumentTypeCode); err != nil {
		p.add("documentTypeCode", codeReason("documentTypeCode", err))
	} else if v, ok := toEnum(trackingv1.DocumentType_value, prefixDocument, string(c)); ok {
		out.DocumentType = trackingv1.DocumentType(v)
	}
	return out
}

func (p *itemParser) position(in *DCSAEvent) *trackingv1.PositionFix {
	out := &trackingv1.PositionFix{
		DeviceId:    p.ident("deviceID", in.DeviceID, 64),
		TrainNumber: p.ident("trainNumber", in.TrainNumber, 20),
	}
	latOK, lonOK := false, false
	switch {
	case in.Latitude == nil:
		p.add("latitude", "required for POSITION events (decimal degrees, -90..90)")
	case !(*in.Latitude >= -90 && *in.Latitude <= 90):
		p.add("latitude", fmt.Sprintf("latitude %s is outside -90..90", fmtFloat(*in.Latitude)))
	default:
		out.Latitude, latOK = *in.Latitude, true
	}
	switch {
	case in.Longitude == nil:
		p.add("longitude", "required for POSITION events (decimal degrees, -180..180)")
	case !(*in.Longitude >= -180 && *in.Longitude <= 180):
		p.add("longitude", fmt.Sprintf("longitude %s is outside -180..180", fmtFloat(*in.Longitude)))
	default:
		out.Longitude, lonOK = *in.Longitude, true
	}
	if latOK && lonOK {
		// The shared definition of a valid point agrees with the checks above; should it ever
		// become stricter, it wins.
		if _, err := geo.NewPoint(out.Latitude, out.Longitude); err != nil {
			var fe *geo.FieldError
			field := "latitude"
			if errors.As(err, &fe) && fe.Field == "lon" {
				field = "longitude"
			}
			p.add(field, parseReason(err))
		}
	}
	if v := in.SpeedKmh; v != nil {
		if !(*v >= 0 && *v <= 400) {
			p.add("speedKmh", fmt.Sprintf("speedKmh %s is outside 0..400", fmtFloat(*v)))
		} else {
			out.SpeedKmh = v
		}
	}
	if v := in.HeadingDeg; v != nil {
		if !(*v >= 0 && *v < 360) {
			p.add("headingDeg", fmt.Sprintf("headingDeg %s is outside 0..360 (360 excluded)", fmtFloat(*v)))
		} else {
			out.HeadingDeg = v
		}
	}
	if v := in.AccuracyM; v != nil {
		if !(*v >= 0 && *v <= 100000) {
			p.add("accuracyM", fmt.Sprintf("accuracyM %s is outside 0..100000", fmtFloat(*v)))
		} else {
			out.AccuracyM = v
		}
	}
	src := in.PositionSource
	if strings.TrimSpace(src) == "" {
		src = "GNSS"
	}
	if c := p.code("positionSource", positionSources, src); c != "" {
		v, _ := toEnum(trackingv1.PositionSource_value, prefixPosSource, c)
		out.Source = trackingv1.PositionSource(v)
	}
	if in.ModeOfTransport != "" {
		m, reason := mode(in.ModeOfTransport)
		if reason != "" {
			p.add("modeOfTransport", reason)
		}
		out.ModeOfTransport = m
	}
	return out
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// proto0 reports whether m has no field set.
func proto0(m proto.Message) bool { return proto.Size(m) == 0 }

func (p *itemParser) derivation(in *DCSADerivation) *trackingv1.GeofenceDerivation {
	out := &trackingv1.GeofenceDerivation{
		GeofenceId: p.required("derivedFrom.geofenceID", p.ident("derivedFrom.geofenceID", in.GeofenceID, 64)),
	}
	if c := p.code("derivedFrom.transition", transitions, in.Transition); c != "" {
		v, _ := toEnum(trackingv1.GeofenceTransition_value, prefixTransition, c)
		out.Transition = trackingv1.GeofenceTransition(v)
	}
	if in.PositionEventID != "" {
		out.PositionEventId = p.uuid("derivedFrom.positionEventID", in.PositionEventID)
	}
	return out
}
