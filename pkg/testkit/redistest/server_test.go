package redistest_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scodalabs/scoda/pkg/testkit"
	"github.com/scodalabs/scoda/pkg/testkit/redistest"
)

func TestMain(m *testing.M) { testkit.VerifyNoLeaks(m) }

func connect(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStartServerAnswers(t *testing.T) {
	url, srv := redistest.StartServer(t)
	c := connect(t, url)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if got := c.Get(ctx, "k").Val(); got != "v" {
		t.Fatalf("get = %q, want v", got)
	}
	// No persistence: a restart must come back empty.
	cfg := c.ConfigGet(ctx, "save").Val()
	if cfg["save"] != "" {
		t.Errorf("save = %q, want empty", cfg["save"])
	}
	if srv.Addr() == "" {
		t.Error("empty Addr")
	}
}

func TestServersAreIsolated(t *testing.T) {
	urlA, _ := redistest.StartServer(t)
	urlB, _ := redistest.StartServer(t)
	if urlA == urlB {
		t.Fatalf("two servers share %s", urlA)
	}
	a, b := connect(t, urlA), connect(t, urlB)
	ctx := t.Context()
	if err := a.Set(ctx, "only-a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n := b.Exists(ctx, "only-a").Val(); n != 0 {
		t.Fatal("key written on server A is visible on server B")
	}
}

func TestRestartEmptiesAndKeepsPort(t *testing.T) {
	url, srv := redistest.StartServer(t)
	c := connect(t, url)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	sha, err := c.ScriptLoad(ctx, "return 1").Result()
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()

	srv.Restart(t)

	if srv.Addr() != addr {
		t.Fatalf("addr after restart = %s, want %s", srv.Addr(), addr)
	}
	// The client's pooled connection died with the old process; it reconnects on its own.
	testkit.Eventually(t, 5*time.Second, func() error { return c.Ping(ctx).Err() })
	if n := c.Exists(ctx, "k").Val(); n != 0 {
		t.Error("key survived a restart")
	}
	if ok := c.ScriptExists(ctx, sha).Val(); len(ok) != 1 || ok[0] {
		t.Errorf("script exists after restart = %v, want [false]", ok)
	}
}

func TestFlushAll(t *testing.T) {
	url, srv := redistest.StartServer(t)
	c := connect(t, url)
	ctx := t.Context()
	if err := c.MSet(ctx, "a", "1", "b", "2").Err(); err != nil {
		t.Fatal(err)
	}
	srv.FlushAll(t)
	if n := c.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("dbsize after FLUSHALL = %d, want 0", n)
	}
}

func TestStoppedAtCleanup(t *testing.T) {
	var addr string
	t.Run("owner", func(t *testing.T) {
		_, srv := redistest.StartServer(t)
		addr = srv.Addr()
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("server on %s still accepts connections after its test ended", addr)
	}
}

func TestMissingBinarySkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("PATH", t.TempDir()) // no redis-server here
	var skipped bool
	t.Run("start", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		redistest.StartServer(t)
		t.Error("StartServer returned without a redis-server binary")
	})
	if !skipped {
		t.Fatal("want the test skipped when redis-server is missing outside CI")
	}
}
