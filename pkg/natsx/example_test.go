package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/natsx"
)

// A service wires the bus in run: connect, declare its topology, start its subscribers, and at
// shutdown drain the subscribers first, then stop HTTP, then close the connection.
// (Compiled, not run: it needs a NATS server.)
func Example() {
	run := func(ctx context.Context, log *slog.Logger) (err error) {
		nc, js, err := natsx.Connect(ctx, "nats://127.0.0.1:4222", "tracking", log)
		if err != nil {
			return err
		}
		defer nc.Close() // last: after the subscribers drained and HTTP stopped

		topology := natsx.Topology{
			Streams: []jetstream.StreamConfig{natsx.DefaultStream("TRACKING", "tracking.v1.>")},
			Consumers: []natsx.Consumer{{Stream: "TRACKING", Config: natsx.DurableConsumer(
				"tracking-projector", []string{"tracking.v1.container.>"},
				natsx.WithAckWait(30*time.Second), natsx.WithMaxAckPending(64))}},
		}
		if err := topology.Ensure(ctx, js); err != nil {
			return err
		}
		maxDeliveries, err := natsx.WatchMaxDeliveries(ctx, nc, "TRACKING", "tracking-projector", log, nil)
		if err != nil {
			return err
		}
		defer func() { _ = maxDeliveries.Unsubscribe() }()

		project := func(ctx context.Context, m *natsx.Message) error {
			if len(m.Data) == 0 {
				return fmt.Errorf("%w: empty event", natsx.ErrDecode) // terminated
			}
			return nil // acked; any other error is retried with backoff
		}
		sub, err := natsx.NewSubscriber(js, "TRACKING", "tracking-projector", project,
			natsx.SubscriberOptions{Workers: 8, Logger: log})
		if err != nil {
			return err
		}
		drained := make(chan error, 1)
		go func() { drained <- sub.Run(ctx) }()

		// ... start the HTTP server here; it publishes with natsx.NewPublisher(js) ...

		select {
		case err = <-drained: // consuming stopped on its own: exit, to be restarted
		case <-ctx.Done():
			err = <-drained // in-flight handlers finished and settled, acks flushed
		}
		// ... then stop the HTTP server, joining its error ...
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, slog.Default()); err != nil && !errors.Is(err, context.Canceled) {
		slog.Default().Error("tracking stopped", slog.Any("error", err))
	}
}
