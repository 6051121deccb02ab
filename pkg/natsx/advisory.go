package natsx

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// MaxDeliveriesAdvisory is the server's advisory for a message that was delivered MaxDeliver
// times without being acked: it will not be delivered again, and nothing else reports it.
type MaxDeliveriesAdvisory struct {
	Type       string    `json:"type"`
	ID         string    `json:"id"`
	Time       time.Time `json:"timestamp"`
	Stream     string    `json:"stream"`
	Consumer   string    `json:"consumer"`
	StreamSeq  uint64    `json:"stream_seq"`
	Deliveries uint64    `json:"deliveries"`
	Domain     string    `json:"domain,omitempty"`
}

// MaxDeliveriesSubject is the subject of the MAX_DELIVERIES advisories of a consumer; "*" for
// stream or consumer matches all.
func MaxDeliveriesSubject(stream, consumer string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + "." + consumer
}

// AdvisoryOption configures [WatchMaxDeliveries].
type AdvisoryOption func(*telemetry)

// WithAdvisoryMeterProvider sets the meter provider of the advisory counter (default global).
func WithAdvisoryMeterProvider(mp metric.MeterProvider) AdvisoryOption {
	return func(t *telemetry) { t.mp = mp }
}

// WatchMaxDeliveries subscribes to the MAX_DELIVERIES advisories of consumer on stream (either
// may be "" or "*" for all) until ctx ends. Each advisory is logged at error level with the
// stream sequence to look the message up by (`nats stream get <stream> <seq>`), counted in
// messaging.nats.max_deliveries_exceeded, and passed to fn when fn is not nil (to write a
// dead-letter record, say). fn runs on the subscription's goroutine and must not block long.
//
// Advisories are plain NATS messages, sent at most once: a watcher that is not connected when
// one is sent misses it. Run one watcher per consumer in the service that owns the consumer.
func WatchMaxDeliveries(ctx context.Context, nc *nats.Conn, stream, consumer string, log *slog.Logger,
	fn func(context.Context, MaxDeliveriesAdvisory), opts ...AdvisoryOption) (*nats.Subscription, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stream == "" {
		stream = "*"
	}
	if consumer == "" {
		consumer = "*"
	}
	var tel telemetry
	for _, o := range opts {
		o(&tel)
	}
	exceeded, _ := tel.meter().Int64Counter("messaging.nats.max_deliveries_exceeded",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages that exhausted their consumer's MaxDeliver and will not be redelivered."))

	subject := MaxDeliveriesSubject(stream, consumer)
	sub, err := nc.Subscribe(subject, func(msg *nats.Msg) {
		var adv MaxDeliveriesAdvisory
		if err := json.Unmarshal(msg.Data, &adv); err != nil {
			log.WarnContext(ctx, "undecodable MAX_DELIVERIES advisory", slog.String("subject", msg.Subject),
				slog.Any("error", err))
			return
		}
		exceeded.Add(ctx, 1, metric.WithAttributes(attrSystem,
			keyStream.String(adv.Stream), semconv.MessagingConsumerGroupName(adv.Consumer)))
		log.ErrorContext(ctx, "message exhausted MaxDeliver and will not be redelivered",
			slog.String("stream", adv.Stream), slog.String("consumer", adv.Consumer),
			slog.Uint64("stream_seq", adv.StreamSeq), slog.Uint64("deliveries", adv.Deliveries))
		if fn != nil {
			fn(ctx, adv)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("natsx: subscribe to %s: %w", subject, err)
	}
	context.AfterFunc(ctx, func() { _ = sub.Unsubscribe() })
	// Make sure the server has the interest before returning, so no advisory sent after this
	// call is missed. While disconnected the subscription is registered on reconnect.
	if err := nc.FlushWithContext(ctx); err != nil {
		log.WarnContext(ctx, "MAX_DELIVERIES watcher not confirmed by the server yet", slog.Any("error", err))
	}
	return sub, nil
}
