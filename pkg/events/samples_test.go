package events_test

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	notificationv1 "github.com/scodalabs/scoda/pkg/gen/scoda/notification/v1"
	schedulev1 "github.com/scodalabs/scoda/pkg/gen/scoda/schedule/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

// sample is one wire fixture: an event, the subject it is published on, and the golden file
// (testdata/<name>.golden) that pins its deterministic encoding.
type sample struct {
	name    string
	subject string
	event   events.Event
}

// Together the samples set every field reachable from the top-level events (TestSamplesCoverEveryField
// checks it), so the golden files pin the whole wire format. Each is a plausible event on the
// Qingdao (CNTAO) - Duisburg (DEDUI) corridor; border stations carry SCODA facility codes only.
// The container numbers have valid ISO 6346 check digits.

const (
	containerA = "CSQU3054383"
	containerB = "SCDU1234564"
	trainNo    = "X8024"
)

// at returns a fixed instant on the sample timeline: 2025-05-01 00:00 UTC plus d.
func at(d time.Duration) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC).Add(d))
}

// envelope returns a fully populated envelope; id distinguishes samples.
func envelope(id string, tenant string, src commonv1.SourceType, srcID string) *commonv1.Envelope {
	return &commonv1.Envelope{
		EventId:               "0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b" + id,
		OccurredAt:            at(2 * time.Hour),
		OccurredOffsetSeconds: proto.Int32(8 * 3600),
		CreatedAt:             at(2*time.Hour + 30*time.Second),
		RecordedAt:            at(2*time.Hour + 31*time.Second),
		TenantId:              tenant,
		Source:                &commonv1.Source{Type: src, Id: srcID},
		CausationId:           "7d444840-9dc0-11d1-b245-5ffdce74fa" + id,
		References: []*commonv1.Reference{
			{Type: commonv1.ReferenceType_REFERENCE_TYPE_SHIPPER, Value: "SHP-2025-0042"},
			{Type: commonv1.ReferenceType_REFERENCE_TYPE_PURCHASE_ORDER, Value: "PO-88123"},
		},
		DocumentReferences: []*commonv1.DocumentReference{
			{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_TRANSPORT_DOCUMENT, Value: "SCODAMBL250001"},
			{Type: commonv1.DocumentReferenceType_DOCUMENT_REFERENCE_TYPE_CIM_SMGS_CONSIGNMENT_NOTE, Value: "CS-31245"},
		},
	}
}

func qingdao() *commonv1.Location {
	return &commonv1.Location{
		UnLocationCode:           "CNTAO",
		FacilityCode:             "QDMLC",
		FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SCODA,
		FacilityType:             commonv1.FacilityType_FACILITY_TYPE_INTE,
		Name:                     "Qingdao Multimodal Logistics Centre",
	}
}

func qingdaoPort() *commonv1.Location {
	return &commonv1.Location{
		UnLocationCode:           "CNTAO",
		FacilityCode:             "QQCT",
		FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SMDG,
		FacilityType:             commonv1.FacilityType_FACILITY_TYPE_POTE,
		Name:                     "Qingdao Qianwan Container Terminal",
	}
}

func duisburg() *commonv1.Location {
	return &commonv1.Location{
		UnLocationCode:           "DEDUI",
		FacilityCode:             "DUIGW",
		FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SCODA,
		FacilityType:             commonv1.FacilityType_FACILITY_TYPE_INTE,
		Name:                     "Duisburg Gateway Terminal",
	}
}

// border is a border station known by its SCODA facility code only.
func border() *commonv1.Location {
	return &commonv1.Location{
		FacilityCode:             "BORDER-CN-KZ-1",
		FacilityCodeListProvider: commonv1.FacilityCodeListProvider_FACILITY_CODE_LIST_PROVIDER_SCODA,
		FacilityType:             commonv1.FacilityType_FACILITY_TYPE_BOCR,
		Name:                     "CN-KZ border station",
	}
}

func containerSamples() []sample {
	return []sample{
		{
			name:    "container_equipment_load_rail",
			subject: "tracking.v1.container.equipment." + containerA,
			event: &trackingv1.ContainerEvent{
				Envelope:           envelope("01", "", commonv1.SourceType_SOURCE_TYPE_TERMINAL, "QDMLC"),
				EquipmentReference: containerA,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
					EventType:        trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_LOAD,
					IsoEquipmentCode: "45G1",
					EmptyIndicator:   trackingv1.EmptyIndicator_EMPTY_INDICATOR_LADEN,
					EventLocation:    qingdao(),
					TransportCall: &trackingv1.TransportCall{
						TransportCallReference: "X8024-20250501-CNTAO",
						ModeOfTransport:        commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
						Location:               qingdao(),
						CarrierServiceCode:     "QD-DUI",
						ExportVoyageNumber:     "X8024/0501",
						ImportVoyageNumber:     "X8023/0501",
						SequenceNumber:         proto.Int32(1),
						Rail: &trackingv1.RailDetails{
							TrainNumber: trainNo,
							WagonNumber: "318045781234",
						},
					},
					Seals: []*trackingv1.Seal{
						{SealNumber: "SH123456", Source: trackingv1.SealSource_SEAL_SOURCE_SHI, Type: trackingv1.SealType_SEAL_TYPE_BLT},
						{SealNumber: "CN-CUS-998877", Source: trackingv1.SealSource_SEAL_SOURCE_CUS, Type: trackingv1.SealType_SEAL_TYPE_WIR},
					},
				}},
			},
		},
		{
			name:    "container_equipment_gtin_derived",
			subject: "tracking.v1.container.equipment." + containerB,
			event: &trackingv1.ContainerEvent{
				Envelope:           envelope("02", "", commonv1.SourceType_SOURCE_TYPE_SCODA, "tracking"),
				EquipmentReference: containerB,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Derivation: &trackingv1.GeofenceDerivation{
					GeofenceId:      "geofence-qdmlc-gate",
					Transition:      trackingv1.GeofenceTransition_GEOFENCE_TRANSITION_ENTER,
					PositionEventId: "5f1c2a9e-3b4d-4e6f-8a7b-9c0d1e2f3a4b",
				},
				Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
					EventType:        trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN,
					IsoEquipmentCode: "22G1",
					EmptyIndicator:   trackingv1.EmptyIndicator_EMPTY_INDICATOR_LADEN,
					EventLocation:    qingdao(),
					TransportCall: &trackingv1.TransportCall{
						TransportCallReference: "TRUCK-LU-B12345-0501",
						ModeOfTransport:        commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK,
						Location:               qingdao(),
						VehicleReference:       "鲁B12345",
					},
				}},
			},
		},
		{
			name:    "container_transport_border_rail",
			subject: "tracking.v1.container.transport." + containerA,
			event: &trackingv1.ContainerEvent{
				Envelope:           envelope("03", "", commonv1.SourceType_SOURCE_TYPE_RAIL_OPERATOR, "CR-EXPRESS"),
				EquipmentReference: containerA,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{
					EventType: trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_ARRI,
					TransportCall: &trackingv1.TransportCall{
						TransportCallReference: "X8024-20250501-BORDER",
						ModeOfTransport:        commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
						Location:               border(),
						CarrierServiceCode:     "QD-DUI",
						ExportVoyageNumber:     "X8024/0501",
						SequenceNumber:         proto.Int32(4),
						Rail: &trackingv1.RailDetails{
							TrainNumber:      trainNo,
							BorderCrossing:   true,
							ExitCountryCode:  "CN",
							EntryCountryCode: "KZ",
							GaugeFromMm:      proto.Int32(1435),
							GaugeToMm:        proto.Int32(1520),
						},
					},
					DelayReasonCode: "CGN",
					ChangeRemark:    "waited 6 h for a transshipment slot",
				}},
			},
		},
		{
			name:    "container_transport_depa_vessel",
			subject: "tracking.v1.container.transport." + containerB,
			event: &trackingv1.ContainerEvent{
				Envelope:           envelope("04", "", commonv1.SourceType_SOURCE_TYPE_CARRIER, "SCDU"),
				EquipmentReference: containerB,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_EST,
				Payload: &trackingv1.ContainerEvent_Transport{Transport: &trackingv1.TransportEvent{
					EventType: trackingv1.TransportEventType_TRANSPORT_EVENT_TYPE_DEPA,
					TransportCall: &trackingv1.TransportCall{
						TransportCallReference: "SCD-2518W-CNTAO",
						ModeOfTransport:        commonv1.ModeOfTransport_MODE_OF_TRANSPORT_VESSEL,
						Location:               qingdaoPort(),
						CarrierServiceCode:     "AEX",
						ExportVoyageNumber:     "2518W",
						ImportVoyageNumber:     "2518E",
						SequenceNumber:         proto.Int32(2),
						Vessel: &trackingv1.Vessel{
							ImoNumber:           "9811000",
							Name:                "SCODA PIONEER",
							Flag:                "CN",
							CallSign:            "BPXY",
							OperatorCarrierCode: "SCDU",
						},
					},
				}},
			},
		},
		{
			name:    "container_shipment_customs_hold",
			subject: "tracking.v1.container.shipment." + containerA,
			event: &trackingv1.ContainerEvent{
				Envelope:           envelope("05", "", commonv1.SourceType_SOURCE_TYPE_AUTHORITY, "CN-CUSTOMS-QD"),
				EquipmentReference: containerA,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Payload: &trackingv1.ContainerEvent_Shipment{Shipment: &trackingv1.ShipmentEvent{
					EventType:    trackingv1.ShipmentEventType_SHIPMENT_EVENT_TYPE_HOLD,
					DocumentType: trackingv1.DocumentType_DOCUMENT_TYPE_CUS,
					DocumentId:   "CUS-QD-2025-77812",
					Reason:       "documentary check",
				}},
			},
		},
		{
			name:    "container_position_gnss",
			subject: "tracking.v1.container.position." + containerA,
			event: &trackingv1.ContainerEvent{
				Envelope:           envelope("06", "", commonv1.SourceType_SOURCE_TYPE_GATEWAY, "gw-qd-01"),
				EquipmentReference: containerA,
				Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
				Payload: &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{
					Latitude:        36.0671,
					Longitude:       120.3826,
					SpeedKmh:        proto.Float64(72.5),
					HeadingDeg:      proto.Float64(291),
					AccuracyM:       proto.Float64(4.8),
					Source:          trackingv1.PositionSource_POSITION_SOURCE_GNSS,
					DeviceId:        "imei-356938035643809",
					TrainNumber:     trainNo,
					ModeOfTransport: commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
				}},
			},
		},
	}
}

func departureEvent(id string, ev *schedulev1.DepartureEvent) *schedulev1.DepartureEvent {
	ev.Envelope = envelope(id, "", commonv1.SourceType_SOURCE_TYPE_MANUAL, "dispatcher-li")
	ev.DepartureId = "dep-QD-DUI-20250501"
	ev.RouteCode = "QD-DUI"
	ev.TrainNumber = trainNo
	return ev
}

func bookingEvent(id string, ev *schedulev1.BookingEvent) *schedulev1.BookingEvent {
	ev.Envelope = envelope(id, "tenant-haier", commonv1.SourceType_SOURCE_TYPE_SCODA, "scheduling")
	ev.BookingId = "bkg-000123"
	ev.DepartureId = "dep-QD-DUI-20250501"
	ev.RouteCode = "QD-DUI"
	ev.TrainNumber = trainNo
	ev.EquipmentReference = containerA
	ev.ShipmentId = "shp-000045"
	ev.TransportDocumentReference = "SCODAMBL250001"
	return ev
}

func shipmentEvent(id string, ev *schedulev1.ShipmentEvent) *schedulev1.ShipmentEvent {
	ev.Envelope = envelope(id, "tenant-haier", commonv1.SourceType_SOURCE_TYPE_SCODA, "scheduling")
	ev.ShipmentId = "shp-000045"
	ev.TransportDocumentReference = "SCODAMBL250001"
	return ev
}

func railLeg() *schedulev1.Leg {
	return &schedulev1.Leg{
		Sequence:           1,
		ModeOfTransport:    commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
		From:               qingdao(),
		To:                 duisburg(),
		CarrierCode:        "CRCT",
		DepartureId:        "dep-QD-DUI-20250501",
		TransportReference: trainNo,
		PlannedDepartureAt: at(10 * time.Hour),
		PlannedArrivalAt:   at(16 * 24 * time.Hour),
	}
}

func scheduleSamples() []sample {
	capacity := &schedulev1.Capacity{Teu: 100, GrossWeightKg: 1_600_000}
	return []sample{
		{"departure_planned", "schedule.v1.departure.planned", departureEvent("11", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Planned{Planned: &schedulev1.DeparturePlanned{
				Origin:             qingdao(),
				Destination:        duisburg(),
				PlannedDepartureAt: at(10 * time.Hour),
				PlannedArrivalAt:   at(16 * 24 * time.Hour),
				Capacity:           capacity,
				Stops: []*schedulev1.Stop{
					{Sequence: 1, Location: qingdao(), PlannedDepartureAt: at(10 * time.Hour)},
					{Sequence: 2, Location: border(), PlannedArrivalAt: at(4 * 24 * time.Hour), PlannedDepartureAt: at(5 * 24 * time.Hour), BorderCrossing: true},
					{Sequence: 3, Location: duisburg(), PlannedArrivalAt: at(16 * 24 * time.Hour)},
				},
				ModeOfTransport: commonv1.ModeOfTransport_MODE_OF_TRANSPORT_RAIL,
			}},
		})},
		{"departure_opened", "schedule.v1.departure.opened", departureEvent("12", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Opened{Opened: &schedulev1.DepartureOpened{BookingCutoffAt: at(-48 * time.Hour)}},
		})},
		{"departure_closed", "schedule.v1.departure.closed", departureEvent("13", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Closed{Closed: &schedulev1.DepartureClosed{Reason: "cut-off reached"}},
		})},
		{"departure_delayed", "schedule.v1.departure.delayed", departureEvent("14", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Delayed{Delayed: &schedulev1.DepartureDelayed{
				PreviousDepartureAt: at(10 * time.Hour),
				NewDepartureAt:      at(16 * time.Hour),
				PreviousArrivalAt:   at(16 * 24 * time.Hour),
				NewArrivalAt:        at(16*24*time.Hour + 6*time.Hour),
				Delay:               durationpb.New(6 * time.Hour),
				Reason:              "locomotive change",
			}},
		})},
		{"departure_cancelled", "schedule.v1.departure.cancelled", departureEvent("15", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Cancelled{Cancelled: &schedulev1.DepartureCancelled{Reason: "path not granted"}},
		})},
		{"departure_departed", "schedule.v1.departure.departed", departureEvent("16", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Departed{Departed: &schedulev1.DepartureDeparted{
				ActualDepartureAt: at(2 * time.Hour), Location: qingdao(), StopSequence: 1,
			}},
		})},
		{"departure_arrived", "schedule.v1.departure.arrived", departureEvent("17", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_Arrived{Arrived: &schedulev1.DepartureArrived{
				ActualArrivalAt: at(2 * time.Hour), Location: duisburg(), StopSequence: 3, Final: true,
			}},
		})},
		{"departure_capacity_changed", "schedule.v1.departure.capacity_changed", departureEvent("18", &schedulev1.DepartureEvent{
			Change: &schedulev1.DepartureEvent_CapacityChanged{CapacityChanged: &schedulev1.DepartureCapacityChanged{
				Previous: capacity,
				Current:  &schedulev1.Capacity{Teu: 110, GrossWeightKg: 1_760_000},
				Reason:   "5 wagons added",
			}},
		})},
		{"booking_created", "schedule.v1.booking.created", bookingEvent("21", &schedulev1.BookingEvent{
			Change: &schedulev1.BookingEvent_Created{Created: &schedulev1.BookingCreated{
				Origin:           qingdao(),
				Destination:      duisburg(),
				IsoEquipmentCode: "45G1",
				Required:         &schedulev1.Capacity{Teu: 2, GrossWeightKg: 28_500},
				Status:           schedulev1.BookingStatus_BOOKING_STATUS_REQUESTED,
			}},
		})},
		{"booking_confirmed", "schedule.v1.booking.confirmed", bookingEvent("22", &schedulev1.BookingEvent{
			Change: &schedulev1.BookingEvent_Confirmed{Confirmed: &schedulev1.BookingConfirmed{Eta: at(16 * 24 * time.Hour)}},
		})},
		{"booking_moved", "schedule.v1.booking.moved", bookingEvent("23", &schedulev1.BookingEvent{
			Change: &schedulev1.BookingEvent_Moved{Moved: &schedulev1.BookingMoved{
				FromDepartureId: "dep-QD-DUI-20250428", ToDepartureId: "dep-QD-DUI-20250501",
				FromTrainNumber: "X8022", Reason: "departure cancelled",
			}},
		})},
		{"booking_cancelled", "schedule.v1.booking.cancelled", bookingEvent("24", &schedulev1.BookingEvent{
			Change: &schedulev1.BookingEvent_Cancelled{Cancelled: &schedulev1.BookingCancelled{Reason: "customer request"}},
		})},
		{"booking_waitlisted", "schedule.v1.booking.waitlisted", bookingEvent("25", &schedulev1.BookingEvent{
			Change: &schedulev1.BookingEvent_Waitlisted{Waitlisted: &schedulev1.BookingWaitlisted{Position: proto.Int32(3), Reason: "no TEU left"}},
		})},
		{"booking_status_changed", "schedule.v1.booking.status_changed", bookingEvent("26", &schedulev1.BookingEvent{
			Change: &schedulev1.BookingEvent_StatusChanged{StatusChanged: &schedulev1.BookingStatusChanged{
				PreviousStatus: schedulev1.BookingStatus_BOOKING_STATUS_CONFIRMED,
				Status:         schedulev1.BookingStatus_BOOKING_STATUS_RECEIVED,
				Location:       qingdao(),
			}},
		})},
		{"eta_changed", "schedule.v1.eta.changed", &schedulev1.EtaEvent{
			Envelope:                   envelope("31", "tenant-haier", commonv1.SourceType_SOURCE_TYPE_SCODA, "scheduling"),
			BookingId:                  "bkg-000123",
			ShipmentId:                 "shp-000045",
			TransportDocumentReference: "SCODAMBL250001",
			EquipmentReference:         containerA,
			DepartureId:                "dep-QD-DUI-20250501",
			Change: &schedulev1.EtaEvent_Changed{Changed: &schedulev1.EtaChanged{
				PreviousEta: at(16 * 24 * time.Hour),
				Eta:         at(16*24*time.Hour + 6*time.Hour),
				Location:    duisburg(),
				Reason:      schedulev1.EtaChangeReason_ETA_CHANGE_REASON_DEPARTURE_DELAYED,
				Detail:      "X8024 departs 6 h late",
			}},
		}},
		{"shipment_created", "schedule.v1.shipment.created", shipmentEvent("41", &schedulev1.ShipmentEvent{
			Change: &schedulev1.ShipmentEvent_Created{Created: &schedulev1.ShipmentCreated{
				Origin:              qingdao(),
				Destination:         duisburg(),
				EquipmentReferences: []string{containerA, containerB},
				Legs:                []*schedulev1.Leg{railLeg()},
			}},
		})},
		{"shipment_leg_added", "schedule.v1.shipment.leg_added", shipmentEvent("42", &schedulev1.ShipmentEvent{
			Change: &schedulev1.ShipmentEvent_LegAdded{LegAdded: &schedulev1.ShipmentLegAdded{Leg: &schedulev1.Leg{
				Sequence:           2,
				ModeOfTransport:    commonv1.ModeOfTransport_MODE_OF_TRANSPORT_TRUCK,
				From:               duisburg(),
				To:                 &commonv1.Location{UnLocationCode: "DEDUS", FacilityType: commonv1.FacilityType_FACILITY_TYPE_CLOC, Name: "Consignee warehouse"},
				CarrierCode:        "RHEINTRUCK",
				TransportReference: "DU-AB-1234",
				PlannedDepartureAt: at(16*24*time.Hour + 10*time.Hour),
				PlannedArrivalAt:   at(16*24*time.Hour + 12*time.Hour),
			}}},
		})},
		{"shipment_status_changed", "schedule.v1.shipment.status_changed", shipmentEvent("43", &schedulev1.ShipmentEvent{
			Change: &schedulev1.ShipmentEvent_StatusChanged{StatusChanged: &schedulev1.ShipmentStatusChanged{
				PreviousStatus: schedulev1.ShipmentStatus_SHIPMENT_STATUS_BOOKED,
				Status:         schedulev1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT,
			}},
		})},
		{"shipment_leg_updated", "schedule.v1.shipment.leg_updated", shipmentEvent("44", &schedulev1.ShipmentEvent{
			Change: &schedulev1.ShipmentEvent_LegUpdated{LegUpdated: &schedulev1.ShipmentLegUpdated{Leg: func() *schedulev1.Leg {
				l := railLeg()
				l.BookingId = "bkg-000123"
				l.ActualDepartureAt = at(12 * time.Hour)
				l.ActualArrivalAt = at(16*24*time.Hour + 3*time.Hour)
				l.EstimatedArrivalAt = at(16*24*time.Hour + 3*time.Hour)
				return l
			}()}},
		})},
		{"exception_missed_cutoff", "schedule.v1.exception.missed_cutoff", exceptionEvent("71", "tenant-haier", &schedulev1.ExceptionEvent{
			BookingId: "bkg-000123", EquipmentReference: containerA, ShipmentId: "shp-000045", TransportDocumentReference: "SCODAMBL250001",
			Change: &schedulev1.ExceptionEvent_MissedCutoff{MissedCutoff: &schedulev1.MissedCutoff{CutoffAt: at(-48 * time.Hour), Location: qingdao()}},
		})},
		{"exception_departure_late", "schedule.v1.exception.departure_late", exceptionEvent("72", "", &schedulev1.ExceptionEvent{
			Change: &schedulev1.ExceptionEvent_DepartureLate{DepartureLate: &schedulev1.DepartureLate{
				Delay: durationpb.New(7 * time.Hour), Threshold: durationpb.New(4 * time.Hour), Location: qingdao(), StopSequence: 1,
				PlannedAt: at(10 * time.Hour), ActualAt: at(17 * time.Hour),
			}},
		})},
		{"exception_border_dwell", "schedule.v1.exception.border_dwell", exceptionEvent("73", "", &schedulev1.ExceptionEvent{
			Change: &schedulev1.ExceptionEvent_BorderDwell{BorderDwell: &schedulev1.BorderDwell{
				Location: border(), StopSequence: 2, ArrivedAt: at(4 * 24 * time.Hour), Dwell: durationpb.New(30 * time.Hour),
				Threshold: durationpb.New(24 * time.Hour),
			}},
		})},
		{"exception_waitlisted", "schedule.v1.exception.waitlisted", exceptionEvent("74", "tenant-haier", &schedulev1.ExceptionEvent{
			BookingId: "bkg-000123", EquipmentReference: containerA,
			Change: &schedulev1.ExceptionEvent_Waitlisted{Waitlisted: &schedulev1.BookingWaitlisted{Position: proto.Int32(2), Reason: "departure cancelled"}},
		})},
	}
}

func exceptionEvent(id, tenant string, ev *schedulev1.ExceptionEvent) *schedulev1.ExceptionEvent {
	ev.Envelope = envelope(id, tenant, commonv1.SourceType_SOURCE_TYPE_SCODA, "scheduling")
	ev.DepartureId = "dep-QD-DUI-20250501"
	ev.RouteCode = "QD-DUI"
	ev.TrainNumber = trainNo
	return ev
}

func deliveryEvent(id string, attempt uint32, ev *notificationv1.DeliveryEvent) *notificationv1.DeliveryEvent {
	ev.Envelope = envelope(id, "tenant-haier", commonv1.SourceType_SOURCE_TYPE_SCODA, "notification")
	ev.SubscriptionId = "sub-000777"
	ev.DeliveryId = "dlv-000999"
	ev.DeliveredEventId = "0b9c6a3e-7f0e-4f7a-9a51-2c1d6f4e8b01"
	ev.Attempt = attempt
	return ev
}

func notificationSamples() []sample {
	return []sample{
		{"delivery_succeeded", "notification.v1.delivery.succeeded", deliveryEvent("51", 1, &notificationv1.DeliveryEvent{
			Outcome: &notificationv1.DeliveryEvent_Succeeded{Succeeded: &notificationv1.DeliverySucceeded{
				StatusCode: 204, Latency: durationpb.New(182 * time.Millisecond),
			}},
		})},
		{"delivery_attempt_failed", "notification.v1.delivery.attempt_failed", deliveryEvent("52", 2, &notificationv1.DeliveryEvent{
			Outcome: &notificationv1.DeliveryEvent_AttemptFailed{AttemptFailed: &notificationv1.DeliveryAttemptFailed{
				StatusCode:    proto.Int32(503),
				Latency:       durationpb.New(1500 * time.Millisecond),
				Failure:       notificationv1.DeliveryFailure_DELIVERY_FAILURE_HTTP_STATUS,
				Error:         "503 Service Unavailable",
				NextAttemptAt: at(2*time.Hour + 2*time.Minute),
			}},
		})},
		{"delivery_dead_lettered", "notification.v1.delivery.dead_lettered", deliveryEvent("53", 8, &notificationv1.DeliveryEvent{
			Outcome: &notificationv1.DeliveryEvent_DeadLettered{DeadLettered: &notificationv1.DeliveryDeadLettered{
				LastStatusCode: proto.Int32(500),
				LastLatency:    durationpb.New(2 * time.Second),
				LastFailure:    notificationv1.DeliveryFailure_DELIVERY_FAILURE_HTTP_STATUS,
				Reason:         notificationv1.DeadLetterReason_DEAD_LETTER_REASON_MAX_ATTEMPTS,
				DeadLetterId:   "dl-000321",
			}},
		})},
		{"subscription_disabled", "notification.v1.subscription.disabled", &notificationv1.SubscriptionEvent{
			Envelope:       envelope("61", "tenant-haier", commonv1.SourceType_SOURCE_TYPE_SCODA, "notification"),
			SubscriptionId: "sub-000777",
			Change: &notificationv1.SubscriptionEvent_Disabled{Disabled: &notificationv1.SubscriptionDisabled{
				Reason:              notificationv1.SubscriptionDisabledReason_SUBSCRIPTION_DISABLED_REASON_TOO_MANY_FAILURES,
				Detail:              "20 consecutive failed deliveries",
				ConsecutiveFailures: 20,
			}},
		}},
	}
}

// samples returns every wire fixture.
func samples() []sample {
	var all []sample
	all = append(all, containerSamples()...)
	all = append(all, scheduleSamples()...)
	all = append(all, notificationSamples()...)
	return all
}
