package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	kithttp "github.com/go-kit/kit/transport/http"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/kitx"
	"github.com/scodalabs/scoda/pkg/natsx"
)

// builtins mounts the authenticated routes every service has:
//   - GET /v1/me: the caller's principal, so a client can check its token;
//   - GET /v1/admin/consumers: the state of this service's durable consumers (pending,
//     waiting for ack, redelivered), for operators and SREs (admin only).
func builtins(d *Deps, service string, consumers []natsx.Consumer) {
	opts := kitx.ServerOptions(d.Log)
	me := kitx.Chain(meEndpoint, kitx.TraceEndpoint("me"), kitx.LogEndpoint(d.Log, "me"))
	d.API.Handle("GET /v1/me", kithttp.NewServer(me, decodeNothing, kitx.EncodeJSON, opts...))

	cons := kitx.Chain(consumersEndpoint(d.JetStream, service, consumers),
		kitx.RequireRole(auth.RoleAdmin), kitx.TraceEndpoint("admin.consumers"), kitx.LogEndpoint(d.Log, "admin.consumers"))
	d.API.Handle("GET /v1/admin/consumers", kithttp.NewServer(cons, decodeNothing, kitx.EncodeJSON, opts...))
}

func decodeNothing(context.Context, *http.Request) (any, error) { return nil, nil }

// MeResponse describes the authenticated caller.
type MeResponse struct {
	Subject string `json:"subject"`
	Role    string `json:"role"`
	Tenant  string `json:"tenant,omitempty"`
}

func meEndpoint(ctx context.Context, _ any) (any, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, apperr.ErrUnauthenticated
	}
	return MeResponse{Subject: p.Subject, Role: string(p.Role), Tenant: p.Tenant}, nil
}

// ConsumerState is one durable consumer as an operator needs to see it.
type ConsumerState struct {
	Stream         string    `json:"stream"`
	Name           string    `json:"name"`
	FilterSubjects []string  `json:"filterSubjects"`
	Pending        uint64    `json:"pending"`       // in the stream, not yet delivered
	AckPending     int       `json:"ackPending"`    // delivered, waiting for an ack
	Redelivered    int       `json:"redelivered"`   // delivered more than once, not yet acked
	Waiting        int       `json:"waiting"`       // pull requests waiting for messages
	LastDelivered  uint64    `json:"lastDelivered"` // stream sequence
	AckFloor       uint64    `json:"ackFloor"`      // stream sequence below which all is acked
	Created        time.Time `json:"created"`
}

// ConsumersResponse lists the service's consumers.
type ConsumersResponse struct {
	Service   string          `json:"service"`
	Consumers []ConsumerState `json:"consumers"`
}

func consumersEndpoint(js jetstream.JetStream, service string, consumers []natsx.Consumer) endpoint.Endpoint {
	return func(ctx context.Context, _ any) (any, error) {
		resp := ConsumersResponse{Service: service, Consumers: []ConsumerState{}}
		for _, c := range consumers {
			cons, err := js.Consumer(ctx, c.Stream, c.Config.Durable)
			if err != nil {
				return nil, errors.Join(apperr.ErrUnavailable, err)
			}
			info, err := cons.Info(ctx)
			if err != nil {
				return nil, errors.Join(apperr.ErrUnavailable, err)
			}
			filters := info.Config.FilterSubjects
			if info.Config.FilterSubject != "" {
				filters = append([]string{info.Config.FilterSubject}, filters...)
			}
			resp.Consumers = append(resp.Consumers, ConsumerState{
				Stream: info.Stream, Name: info.Name, FilterSubjects: filters,
				Pending: info.NumPending, AckPending: info.NumAckPending, Redelivered: info.NumRedelivered,
				Waiting: info.NumWaiting, LastDelivered: info.Delivered.Stream, AckFloor: info.AckFloor.Stream,
				Created: info.Created,
			})
		}
		return resp, nil
	}
}
