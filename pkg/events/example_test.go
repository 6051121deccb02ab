package events_test

import (
	"fmt"

	"github.com/scodalabs/scoda/pkg/events"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
)

func ExampleContainerSubject() {
	gateIn := &trackingv1.ContainerEvent{
		EquipmentReference: "CSQU3054383",
		Classifier:         trackingv1.EventClassifier_EVENT_CLASSIFIER_ACT,
		Payload: &trackingv1.ContainerEvent_Equipment{Equipment: &trackingv1.EquipmentEvent{
			EventType: trackingv1.EquipmentEventType_EQUIPMENT_EVENT_TYPE_GTIN,
		}},
	}
	subject, err := events.ContainerSubject(gateIn)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(subject)

	locomotive := &trackingv1.ContainerEvent{
		Payload: &trackingv1.ContainerEvent_Position{Position: &trackingv1.PositionFix{TrainNumber: "X8024/8023"}},
	}
	subject, _ = events.ContainerSubject(locomotive)
	fmt.Println(subject)
	fmt.Println(events.ContentType(gateIn))
	// Output:
	// tracking.v1.container.equipment.CSQU3054383
	// tracking.v1.train.position.X8024_8023
	// application/protobuf; proto=scoda.tracking.v1.ContainerEvent
}

func ExampleDecode() {
	sent := &trackingv1.ContainerEvent{
		EquipmentReference: "CSQU3054383",
		Payload:            &trackingv1.ContainerEvent_Shipment{Shipment: &trackingv1.ShipmentEvent{DocumentId: "SCODAMBL250001"}},
	}
	data, _ := events.Marshal(sent)
	header := events.ContentType(sent) // a publisher sets it under events.HeaderContentType

	ev, err := events.Decode(header, data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.(*trackingv1.ContainerEvent).GetShipment().GetDocumentId())
	// Output: SCODAMBL250001
}
