package apperr_test

import (
	"fmt"

	"github.com/scodalabs/scoda/pkg/apperr"
)

func ExampleValidationError() {
	var v apperr.ValidationError
	v.AddAt(0, "equipmentReference", "check digit is 3, expected 7")
	v.AddAt(2, "latitude", "must be between -90 and 90")
	if err := v.Err(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// invalid input: item 0: equipmentReference: check digit is 3, expected 7 (and 1 more)
}
