package natsx_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/natsx"
)

func TestErrorClassification(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name      string
		err       error
		permanent bool
		retry     bool
		after     time.Duration
	}{
		{"plain error is transient", base, false, false, 0},
		{"Permanent", natsx.Permanent(base), true, false, 0},
		{"wrapped Permanent", fmt.Errorf("project: %w", natsx.Permanent(base)), true, false, 0},
		{"decode error", fmt.Errorf("%w: %w", natsx.ErrDecode, base), true, false, 0},
		{"Retry", natsx.Retry(base, time.Second), false, true, time.Second},
		{"wrapped Retry", fmt.Errorf("deliver: %w", natsx.Retry(base, 2*time.Second)), false, true, 2 * time.Second},
		{"negative Retry delay is zero", natsx.Retry(base, -time.Second), false, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := natsx.IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			after, ok := natsx.RetryAfter(tt.err)
			if ok != tt.retry || after != tt.after {
				t.Errorf("RetryAfter = %s, %v; want %s, %v", after, ok, tt.after, tt.retry)
			}
			if !errors.Is(tt.err, base) {
				t.Errorf("errors.Is(err, base) lost through wrapping")
			}
		})
	}
	if natsx.Permanent(nil) != nil || natsx.Retry(nil, time.Second) != nil {
		t.Error("wrapping nil must stay nil")
	}
}

func TestBackoffDelay(t *testing.T) {
	b := natsx.Backoff{Base: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5}
	tests := []struct {
		delivered uint64
		floor     time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{1000, time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.delivered), func(t *testing.T) {
			for range 100 {
				d := b.Delay(tt.delivered)
				if d < tt.floor || d > tt.floor+tt.floor/2 {
					t.Fatalf("Delay(%d) = %s, want within [%s, %s]", tt.delivered, d, tt.floor, tt.floor+tt.floor/2)
				}
			}
		})
	}
	if d := (natsx.Backoff{Base: time.Hour}).Delay(1 << 40); d <= 0 {
		t.Errorf("uncapped backoff overflowed to %s", d)
	}
	if d := (natsx.Backoff{}).Delay(3); d != 0 {
		t.Errorf("zero Backoff gives %s, want 0", d)
	}
}
