package tracking

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/events"
	commonv1 "github.com/scodalabs/scoda/pkg/gen/scoda/common/v1"
	trackingv1 "github.com/scodalabs/scoda/pkg/gen/scoda/tracking/v1"
	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/services/tracking/internal/domain"
)

// Accepted is one event of an accepted batch.
type Accepted struct {
	EventID   string `json:"eventID"`
	Duplicate bool   `json:"duplicate"`
}

// IngestResult answers POST /v1/events.
type IngestResult struct {
	Accepted   int        `json:"accepted"`
	Duplicates int        `json:"duplicates"`
	Events     []Accepted `json:"events"`
}

// Ingest validates a body of one event or {"events": [...]}, and puts every event in the
// JetStream log. It returns only after the stream acknowledged each one, so a 202 means the
// events are durable. A batch with any invalid item is rejected whole: nothing is published.
// source names the sender (the token's subject, or the gateway); kind says what it is.
func (s *Tracker) Ingest(ctx context.Context, source string, kind commonv1.SourceType, body []byte) (IngestResult, error) {
	items, err := domain.DecodeBatch(body)
	if err != nil {
		return IngestResult{}, err
	}
	evs, err := domain.Parse(items, domain.Options{Now: s.clock, FutureHorizon: s.cfg.FutureHorizon, Source: source, SourceType: kind})
	if err != nil {
		return IngestResult{}, err
	}
	return s.publish(ctx, evs)
}

// publish puts validated events on their subjects, msg id = event id, and waits for the acks.
func (s *Tracker) publish(ctx context.Context, evs []*trackingv1.ContainerEvent) (IngestResult, error) {
	msgs := make([]natsx.Msg, len(evs))
	for i, ev := range evs {
		subject, err := events.ContainerSubject(ev)
		if err != nil {
			return IngestResult{}, apperr.Invalid(fmt.Sprintf("events[%d]", i), err.Error())
		}
		data, err := events.Marshal(ev)
		if err != nil {
			return IngestResult{}, err
		}
		hdr := nats.Header{}
		hdr.Set(events.HeaderContentType, events.ContentTypeContainerEvent)
		msgs[i] = natsx.Msg{Subject: subject, MsgID: events.EventID(ev), Data: data, Header: hdr}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	acks, err := s.pub.PublishBatch(ctx, msgs)
	if err != nil {
		// Some may be in the log already; the client retries the whole batch and the stream's
		// dedupe (msg id = event id) and the history's event-id key keep each event once.
		return IngestResult{}, errors.Join(apperr.ErrUnavailable, err)
	}
	res := IngestResult{Events: make([]Accepted, len(evs))}
	for i, ack := range acks {
		res.Events[i] = Accepted{EventID: msgs[i].MsgID, Duplicate: ack.Duplicate}
		if ack.Duplicate {
			res.Duplicates++
		} else {
			res.Accepted++
		}
	}
	s.metrics.ingested.Add(ctx, int64(res.Accepted))
	return res, nil
}
