package notification_test

import (
	"testing"

	"github.com/scodalabs/scoda/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }
