package kitx_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/scodalabs/scoda/pkg/apperr"
	"github.com/scodalabs/scoda/pkg/kitx"
)

func TestIfMatch(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		version int
		wantErr error
	}{
		{"one strong tag", `"3"`, 3, nil},
		{"spaces around", " \"12\"\t", 12, nil},
		{"large version", `"2147483647"`, 2147483647, nil},
		{"missing", "", 0, apperr.ErrPreconditionRequired},
		{"blank", "   ", 0, apperr.ErrPreconditionRequired},
		{"unquoted", "3", 0, apperr.ErrPreconditionFailed},
		{"weak", `W/"3"`, 0, apperr.ErrPreconditionFailed},
		{"any", "*", 0, apperr.ErrPreconditionFailed},
		{"list", `"1", "2"`, 0, apperr.ErrPreconditionFailed},
		{"zero", `"0"`, 0, apperr.ErrPreconditionFailed},
		{"negative", `"-4"`, 0, apperr.ErrPreconditionFailed},
		{"plus sign", `"+4"`, 0, apperr.ErrPreconditionFailed},
		{"leading zero", `"07"`, 0, apperr.ErrPreconditionFailed},
		{"not a number", `"abc"`, 0, apperr.ErrPreconditionFailed},
		{"empty tag", `""`, 0, apperr.ErrPreconditionFailed},
		{"open quote", `"3`, 0, apperr.ErrPreconditionFailed},
		{"escaped", `"\x33"`, 0, apperr.ErrPreconditionFailed},
		{"too large", `"99999999999999999999"`, 0, apperr.ErrPreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := kitx.IfMatch(tt.header)
			if v != tt.version || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("IfMatch(%q) = %d, %v; want %d, %v", tt.header, v, err, tt.version, tt.wantErr)
			}
		})
	}
}

func TestETagRoundTrip(t *testing.T) {
	for _, version := range []int{1, 9, 10, 12345} {
		got, err := kitx.IfMatch(kitx.ETag(version))
		if err != nil || got != version {
			t.Errorf("IfMatch(ETag(%d)) = %d, %v", version, got, err)
		}
	}
}

func ExampleETag() {
	tag := kitx.ETag(3)
	v, err := kitx.IfMatch(tag)
	fmt.Println(tag, v, err)
	// Output: "3" 3 <nil>
}
