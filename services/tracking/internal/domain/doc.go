// Package domain is the tracking service's event model at its edge: the ingest wire format
// (DCSA Track & Trace 2.2 events plus SCODA's POSITION event and rail extension), its
// validation, and the reverse rendering back to DCSA JSON.
//
// The canonical event is the protobuf scoda.tracking.v1.ContainerEvent
// (pkg/gen/scoda/tracking/v1): Parse turns JSON into it, everything downstream (the JetStream
// log, the projections, the consumers in other services) speaks only it, and ToDCSA renders it
// back for the DCSA publisher (GET /v2/events) and the ingest round trip. The JSON structs in
// this package are a wire format, never stored.
//
// Departing from the house rule "internal/domain is stdlib only", this package imports the
// shared value-type packages in pkg (iso6346, unlocode, dcsa, geo, rfc3339, apperr) and the
// generated protobuf contract: the contract is the domain's entity, and the value types are
// the project's single definition of a valid container number, UN/LOCODE and code.
//
// Decisions worth knowing:
//
//   - Unknown JSON fields are accepted and ignored (DCSA payloads often carry more); a known
//     field with the wrong JSON type is an error naming its path, and does not hide the item's
//     other problems. A field of one event type on another (seals on a TRANSPORT event) is an
//     error: the contract could not keep it.
//   - A batch is all or nothing: Parse returns either every event or one
//     *apperr.ValidationError listing every problem of every item (index, field, reason).
//   - An event without eventID gets a deterministic UUIDv5 computed from its normalised
//     content (see ContentID), so a carrier re-sending the same event without an id produces
//     the same id, and the log's de-duplication (Nats-Msg-Id) drops the copy.
//   - The same eventID twice in one batch is accepted and both are returned: de-duplication is
//     the log's job (JetStream's duplicate window and the projections' idempotency on the id),
//     exactly as for the same id arriving in two requests; the first one wins in both cases.
//   - Times must carry a UTC offset; they are stored in UTC and the offset of eventDateTime is
//     kept (Envelope.occurred_offset_seconds), so ToDCSA prints them as the source wrote them
//     (eventCreatedDateTime in that same offset). ACT events and every eventCreatedDateTime may
//     lie at most Options.FutureHorizon ahead; PLN and EST events are plans and may lie further.
//   - SCODA extensions beside DCSA 2.2: the POSITION event, the AIR mode and AIRT facility
//     type, the SCODA facility code list provider, transportCall.rail and vehicleReference,
//     facilityTypeCode on eventLocation, document reference types SBK, SSH, CIM, SMGS, CNN,
//     CMR and AWB, referenceType CNN (stored as a CNN document reference), and derivedFrom.
package domain
