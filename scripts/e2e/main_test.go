// Package e2e_test runs the user stories end to end: the three service binaries, built
// from this workspace and started as child processes against real PostgreSQL, Redis and an
// embedded JetStream, driven only through their public HTTP APIs, with a local webhook receiver
// and an in-process OTLP receiver listening to what comes out.
package e2e_test

import (
	"testing"

	"github.com/scodalabs/scoda/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }
