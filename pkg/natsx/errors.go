package natsx

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// ErrDecode marks a message that cannot be decoded. Such a message will never succeed, so the
// subscriber terminates it instead of redelivering it. Wrap the decoder's error with it:
//
//	if err := proto.Unmarshal(m.Data, &ev); err != nil {
//		return fmt.Errorf("%w: %w", natsx.ErrDecode, err)
//	}
var ErrDecode = errors.New("natsx: cannot decode message")

// Permanent marks err as permanent: retrying cannot help (invalid content, a reference that
// will never exist), so the subscriber terminates the message (TermWithReason) instead of
// redelivering it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with [Permanent] or matches [ErrDecode].
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrDecode)
}

// Retry asks for a redelivery after the given delay instead of the subscriber's backoff, for
// errors that know when to try again (a rate limit's Retry-After, a booking not yet visible).
// Retry(nil, d) is nil; a delay <= 0 redelivers at once.
func Retry(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryError{err: err, after: max(after, 0)}
}

type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string { return "retry after " + e.after.String() + ": " + e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// RetryAfter returns the delay requested with [Retry], if any.
func RetryAfter(err error) (time.Duration, bool) {
	var r *retryError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// Backoff is the redelivery delay for transient handler errors: Base doubled for every
// delivery after the first, capped at Max, then lengthened by up to Jitter (a fraction, at most 1) so
// replicas that failed together do not retry together. Jitter only ever adds, so the delay of
// delivery n is never below min(Base*2^(n-1), Max).
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Jitter float64
}

// DefaultBackoff is used when SubscriberOptions.Backoff is zero: 1s, 2s, 4s ... capped at 2m,
// which with DurableConsumer's default MaxDeliver of 10 rides out roughly six minutes of a
// dependency outage (a Postgres fail-over, a Redis restart) before the message is given up.
var DefaultBackoff = Backoff{Base: time.Second, Max: 2 * time.Minute, Jitter: 0.2}

// Delay returns the delay before redelivering a message that failed on its numDelivered-th
// delivery (1 for the first).
func (b Backoff) Delay(numDelivered uint64) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	d := b.Base
	for i := uint64(1); i < numDelivered && (b.Max <= 0 || d < b.Max) && d < math.MaxInt64/4; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	if j := min(b.Jitter, 1); j > 0 {
		d += time.Duration(rand.Float64() * j * float64(d))
	}
	return d
}
