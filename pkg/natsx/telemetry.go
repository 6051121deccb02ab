package natsx

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Attributes follow the OpenTelemetry messaging semantic conventions. NATS has no enum value
// in semconv yet, so messaging.system is the plain string "nats".
var (
	attrSystem     = semconv.MessagingSystemKey.String("nats")
	attrOpSend     = semconv.MessagingOperationTypeSend
	attrOpProcess  = semconv.MessagingOperationTypeProcess
	attrOpNameSend = semconv.MessagingOperationName("send")
	attrOpNameProc = semconv.MessagingOperationName("process")
	// Not in semconv: the JetStream specifics an SRE asks about.
	keyDeliveryCount = attribute.Key("messaging.nats.message.delivery_count")
	keyStream        = attribute.Key("messaging.nats.stream")
	keyStreamSeq     = attribute.Key("messaging.nats.stream.sequence")
	keyDuplicate     = attribute.Key("messaging.nats.duplicate")
	keyOutcome       = attribute.Key("outcome")
)

// durationBuckets are the semconv-recommended boundaries (seconds) for messaging durations.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// telemetry is the tracer, meter and propagator a Publisher or Subscriber uses; each defaults
// to the global one.
type telemetry struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

func (t telemetry) tracer() trace.Tracer {
	if t.tp == nil {
		t.tp = otel.GetTracerProvider()
	}
	return t.tp.Tracer(instrumentationName)
}

func (t telemetry) meter() metric.Meter {
	if t.mp == nil {
		t.mp = otel.GetMeterProvider()
	}
	return t.mp.Meter(instrumentationName)
}

func (t telemetry) propagator() propagation.TextMapPropagator {
	if t.prop == nil {
		return otel.GetTextMapPropagator()
	}
	return t.prop
}

func identity(s string) string { return s }
