package natsx

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Connection defaults. They are options of nats.Connect; pass your own nats.Option to Connect
// to override any of them (credentials and TLS come in that way too).
const (
	// dialTimeout bounds one dial, so a first connect to a dead address fails in seconds.
	dialTimeout = 5 * time.Second
	// pingInterval and maxPingsOut notice a half-open TCP connection within about a minute
	// (the client default of 2 minutes x 2 is too slow for a bus that carries ingest).
	pingInterval = 20 * time.Second
	maxPingsOut  = 3
	// Reconnect backoff: 100ms doubling to 5s, plus up to 50% jitter, for ever. Replicas that
	// lost the same server do not reconnect in lockstep, and nobody gives up during a long
	// cluster restart; publishes meanwhile go to the client's reconnect buffer (8 MiB).
	reconnectBase = 100 * time.Millisecond
	reconnectMax  = 5 * time.Second
	// asyncAckTimeout bounds how long PublishBatch waits for one ack, so a lost ack becomes
	// an error for that message instead of a hang.
	asyncAckTimeout = 10 * time.Second
)

// Connect dials the NATS server(s) at urls (comma-separated for a cluster) as clientName and
// returns the connection and a JetStream handle on it.
//
// The first connect fails fast with an error naming the (redacted) urls: a service that cannot
// reach its bus at start should exit and let its supervisor restart it. Once connected, the
// client reconnects for ever with capped exponential backoff and jitter, and disconnects,
// reconnects, asynchronous errors (slow consumers, permission violations) and the final close
// are logged on log. opts are applied after the defaults, so they can override them.
//
// Close the connection last at shutdown: after every Subscriber.Run has returned (Run flushes
// its acks) and the HTTP server has stopped (Publish and PublishBatch wait for their acks).
func Connect(ctx context.Context, urls, clientName string, log *slog.Logger, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("natsx: connect to %s: %w", redactURL(urls), err)
	}
	timeout := dialTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	log = log.With(slog.String("nats.client", clientName))
	base := []nats.Option{
		nats.Name(clientName),
		nats.Timeout(timeout),
		nats.RetryOnFailedConnect(false),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil {
				return // a deliberate Close or Drain, logged by the closed handler
			}
			log.Warn("nats disconnected", slog.String("server", nc.ConnectedUrlRedacted()), slog.Any("error", err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", slog.String("server", nc.ConnectedUrlRedacted()),
				slog.Uint64("reconnects", nc.Stats().Reconnects))
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats reconnect attempt failed", slog.Any("error", err))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			attrs := []any{slog.Any("error", err)}
			if sub != nil {
				attrs = append(attrs, slog.String("subject", sub.Subject))
			}
			log.Error("nats async error", attrs...)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("nats connection closed", slog.Any("error", err))
				return
			}
			log.Info("nats connection closed")
		}),
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.Info("nats server entering lame duck mode", slog.String("server", nc.ConnectedUrlRedacted()))
		}),
	}
	nc, err := nats.Connect(urls, append(base, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("natsx: connect to %s as %q: %w", redactURL(urls), clientName, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(asyncAckTimeout))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("natsx: jetstream: %w", err)
	}
	log.Info("nats connected", slog.String("server", nc.ConnectedUrlRedacted()))
	return nc, js, nil
}

// reconnectDelay is the wait before reconnect attempt n (1-based within a round of the server
// list): capped exponential backoff plus up to 50% jitter.
func reconnectDelay(attempts int) time.Duration {
	d := reconnectBase
	for i := 1; i < attempts && d < reconnectMax; i++ {
		d *= 2
	}
	d = min(d, reconnectMax)
	return d + time.Duration(rand.Int64N(int64(d/2)+1))
}

// redactURL hides passwords and tokens in a (comma-separated) NATS url before it is logged or
// put into an error.
func redactURL(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "<unparsable url>"
			continue
		}
		parts[i] = u.Redacted()
		if u.User != nil {
			if _, hasPass := u.User.Password(); !hasPass {
				// a bare user part is a token: hide it too.
				u.User = url.User("redacted")
				parts[i] = u.String()
			}
		}
	}
	return strings.Join(parts, ",")
}
