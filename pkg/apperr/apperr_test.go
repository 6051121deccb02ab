package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/scodalabs/scoda/pkg/apperr"
)

func TestValidationError(t *testing.T) {
	var v apperr.ValidationError
	if v.Err() != nil {
		t.Fatal("empty validation error must be nil")
	}
	v.Add("containerNo", "check digit is 3, expected 7")
	v.AddAt(4, "latitude", "must be between -90 and 90")
	err := fmt.Errorf("ingest: %w", v.Err())

	var got *apperr.ValidationError
	if !errors.As(err, &got) {
		t.Fatalf("errors.As failed on %v", err)
	}
	if len(got.Fields) != 2 || got.Fields[1].Index == nil || *got.Fields[1].Index != 4 {
		t.Fatalf("fields = %+v", got.Fields)
	}
	want := "ingest: invalid input: containerNo: check digit is 3, expected 7 (and 1 more)"
	if err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	if s := got.Fields[1].Error(); s != "item 4: latitude: must be between -90 and 90" {
		t.Fatalf("FieldError.Error() = %q", s)
	}
}

func TestSentinelsWrap(t *testing.T) {
	err := fmt.Errorf("container MSKU9070323: %w", apperr.ErrNotFound)
	if !errors.Is(err, apperr.ErrNotFound) || errors.Is(err, apperr.ErrConflict) {
		t.Fatalf("wrapping broke identity: %v", err)
	}
}
