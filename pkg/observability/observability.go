// Package observability sets up traces, metrics and logs for one process.
//
// Setup is called once in main. Traces are always created (so every log line and response can
// carry a trace id); they leave the process only when an OTLP endpoint is configured through the
// standard OTEL_* variables. Metrics are always served for Prometheus on /metrics, and are also
// pushed over OTLP when OTEL_METRICS_EXPORTER names otlp.
package observability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Config names the process. Everything else comes from the standard OTEL_* variables.
type Config struct {
	ServiceName string // service.name, unless OTEL_SERVICE_NAME overrides it
	Version     string // service.version
	Environment string // deployment.environment.name, e.g. "local", "production"
}

// Telemetry is what Setup built. Its providers are also installed as the otel globals.
type Telemetry struct {
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	// MetricsHandler serves the Prometheus text format; mount it at /metrics.
	MetricsHandler http.Handler
	// Exporting tells whether spans leave the process (an OTLP endpoint is configured).
	Exporting bool

	shutdown []func(context.Context) error
}

// Setup builds the trace and meter providers, installs them and the W3C TraceContext + Baggage
// propagator as globals, and returns them with a Prometheus handler. Call Shutdown before exit
// to flush what is batched.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.ServiceName == "" {
		return nil, errors.New("observability: service name is required")
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", cfg.ServiceName),
			attribute.String("service.version", cfg.Version),
			attribute.String("deployment.environment.name", cfg.Environment),
		),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithTelemetrySDK(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("observability: resource: %w", err)
	}

	t := &Telemetry{}

	// Traces. The sampler comes from OTEL_TRACES_SAMPLER (parent-based always-on by default).
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if exp, err := traceExporter(ctx); err != nil {
		return nil, err
	} else if exp != nil {
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		t.Exporting = true
	}
	t.TracerProvider = sdktrace.NewTracerProvider(tpOpts...)
	t.shutdown = append(t.shutdown, t.TracerProvider.Shutdown)

	// Metrics: a private Prometheus registry (no global state shared between tests), with the
	// Go runtime and process collectors beside our OTel instruments.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("observability: prometheus exporter: %w", err), t.Shutdown(ctx))
	}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	if wantsOTLPMetrics() {
		mexp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("observability: otlp metric exporter: %w", err), t.Shutdown(ctx))
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp)))
	}
	t.MeterProvider = sdkmetric.NewMeterProvider(mpOpts...)
	t.shutdown = append(t.shutdown, t.MeterProvider.Shutdown)
	t.MetricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})

	otel.SetTracerProvider(t.TracerProvider)
	otel.SetMeterProvider(t.MeterProvider)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return t, nil
}

// Shutdown flushes and stops the providers; errors are joined, none is lost.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(t.shutdown) - 1; i >= 0; i-- {
		errs = append(errs, t.shutdown[i](ctx))
	}
	t.shutdown = nil
	return errors.Join(errs...)
}

// traceExporter returns an OTLP exporter when an endpoint is configured and OTEL_TRACES_EXPORTER
// does not say "none"; otherwise nil (spans are still created, just not exported).
func traceExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	if strings.EqualFold(os.Getenv("OTEL_TRACES_EXPORTER"), "none") {
		return nil, nil
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return nil, nil
	}
	protocol := firstNonEmpty(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("observability: OTEL_EXPORTER_OTLP_PROTOCOL %q is not supported (use grpc or http/protobuf)", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("observability: otlp trace exporter: %w", err)
	}
	return exp, nil
}

func wantsOTLPMetrics() bool {
	for _, e := range strings.Split(os.Getenv("OTEL_METRICS_EXPORTER"), ",") {
		if strings.TrimSpace(e) == "otlp" {
			return true
		}
	}
	return false
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
