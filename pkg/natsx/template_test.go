package natsx_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/scodalabs/scoda/pkg/natsx"
	"github.com/scodalabs/scoda/pkg/testkit"
)

// TestSubjectTemplateKeepsCardinalityLow: with a template, span names and metric attributes use
// it, while the span still records the full subject.
func TestSubjectTemplateKeepsCardinalityLow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ensure(t, natsx.DurableConsumer("tmpl", []string{"events.>"}))
	tmpl := func(s string) string {
		if i := strings.LastIndexByte(s, '.'); i > 0 {
			return s[:i] + ".{id}"
		}
		return s
	}
	got := make(chan struct{}, 1)
	start(t, e.subscriber(t, e.js, "tmpl", func(context.Context, *natsx.Message) error {
		got <- struct{}{}
		return nil
	}, natsx.SubscriberOptions{SubjectTemplate: tmpl}))

	subject := testSubject
	if _, err := e.publisher(natsx.WithSubjectTemplate(tmpl)).Publish(t.Context(), subject, "evt-tmpl", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	receive(t, got)
	want := tmpl(subject)
	testkit.Eventually(t, waitFor, func() error {
		n := 0
		for _, sp := range e.spans.Ended() {
			if sp.SpanKind() != trace.SpanKindProducer && sp.SpanKind() != trace.SpanKindConsumer {
				continue
			}
			if !strings.HasSuffix(sp.Name(), want) {
				t.Fatalf("span name %q does not use the template %q", sp.Name(), want)
			}
			wantAttrs(t, sp.Name(), sp.Attributes(), map[string]string{
				"messaging.destination.name":     subject,
				"messaging.destination.template": want,
			})
			n++
		}
		if n < 2 {
			return context.DeadlineExceeded
		}
		return nil
	})
	e.wantCounter(t, 1, "messaging.client.sent.messages", attribute.String("messaging.destination.template", want))
}
