package redisx_test

import (
	"context"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/redisx"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
)

func TestConnect(t *testing.T) {
	_, prefix := redistest.New(t) // skips (or fails in CI) when Redis is down
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := redisx.Connect(ctx, redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Set(ctx, prefix+"k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(ctx, prefix+"k").Val(); got != "v" {
		t.Fatalf("get = %q", got)
	}
}

func TestConnectFailsWithinDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := redisx.Connect(ctx, "redis://127.0.0.1:1/0"); err == nil {
		t.Fatal("want an error for an unreachable Redis")
	}
	if _, err := redisx.Connect(ctx, "not-a-url"); err == nil {
		t.Fatal("want an error for a bad URL")
	}
}
