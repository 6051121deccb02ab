package proctest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/scodalabs/scoda/pkg/testkit/proctest"
)

// A tiny server built from source in the test: Start waits for its /readyz, Kill stops it.
func TestStartAndKill(t *testing.T) {
	dir := t.TempDir()
	src := `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	_ = http.ListenAndServe(os.Getenv("HTTP_ADDR"), nil)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/ready\n\ngo 1.26\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("GOWORK", "off")
	bin := proctest.Build(t, "example.com/ready")
	p := proctest.Start(t, bin)
	resp, err := http.Get(p.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	p.Kill(t)
	if _, err := http.Get(p.URL + "/readyz"); err == nil {
		t.Fatal("the killed process still answers")
	}
}
