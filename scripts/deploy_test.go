package scripts_test

// Structural checks of the deployment files under deploy/. No Docker engine or cluster runs
// here, so nothing is built or applied: every file is parsed and held to the rules the
// services depend on (README "Configuration" is the source of truth for variables, ports and
// timeouts). Each checker returns a list of problems; TestDeployCheckersCatchProblems feeds
// each one a deliberately broken input to show that its rules can fail.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"
)

// Paths relative to this package's directory (go test runs in it).
const (
	repoRoot         = ".."
	deployDir        = "../deploy"
	composePath      = "../deploy/compose/compose.yaml"
	collectorPath    = "../deploy/otel/collector.yaml"
	k8sDir           = "../deploy/k8s"
	dockerfilePath   = "../deploy/docker/Dockerfile"
	dockerignorePath = "../deploy/docker/Dockerfile.dockerignore"
	natsConfPath     = "../deploy/nats/nats-cluster.conf"
)

func TestDeploy(t *testing.T) {
	cfg := loadReadmeConfig(t)
	tests := []struct {
		name     string
		problems func(t *testing.T) []string
	}{
		{"compose", func(t *testing.T) []string {
			return checkCompose(readFile(t, composePath), filepath.Dir(composePath), cfg)
		}},
		{"collector", func(t *testing.T) []string { return checkCollector(readFile(t, collectorPath)) }},
		{"k8s/kustomization", func(t *testing.T) []string {
			objs, problems := loadK8s(t, k8sDir)
			return append(problems, checkKustomization(readFile(t, filepath.Join(k8sDir, "kustomization.yaml")), k8sDir, objs)...)
		}},
		{"k8s/objects", func(t *testing.T) []string {
			objs, problems := loadK8s(t, k8sDir)
			return append(problems, checkK8s(objs, cfg)...)
		}},
		{"dockerfile", func(t *testing.T) []string {
			return checkDockerfile(string(readFile(t, dockerfilePath)), cfg, workspaceModules(string(readFile(t, filepath.Join(repoRoot, "go.work")))))
		}},
		{"dockerignore", func(t *testing.T) []string {
			return checkDockerignore(string(readFile(t, dockerignorePath)), string(readFile(t, dockerfilePath)), cfg, repoRoot)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range tt.problems(t) {
				t.Error(p)
			}
		})
	}
}

// TestDeployFilesParse parses every YAML file under deploy/ (every document of it) and every
// JSON file, so a file that no structural check covers is still at least well-formed.
func TestDeployFilesParse(t *testing.T) {
	var files []string
	err := filepath.WalkDir(deployDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	yamls := 0
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot, f)
		switch filepath.Ext(f) {
		case ".yaml", ".yml":
			yamls++
			t.Run(rel, func(t *testing.T) {
				docs, err := yamlDocs(readFile(t, f))
				if err != nil {
					t.Fatalf("%s: %v", rel, err)
				}
				if len(docs) == 0 {
					t.Errorf("%s: no YAML document", rel)
				}
			})
		case ".json":
			t.Run(rel, func(t *testing.T) {
				if !json.Valid(readFile(t, f)) {
					t.Errorf("%s: invalid JSON", rel)
				}
			})
		}
	}
	if yamls == 0 {
		t.Fatalf("no YAML files under %s", deployDir)
	}
}

// TestDeployNATSCluster loads the cluster example with the nats-server version the workspace
// pins, so a key the server does not know, or a malformed route, fails here.
func TestDeployNATSCluster(t *testing.T) {
	t.Setenv("SERVER_NAME", "nats-0")
	opts, err := server.ProcessConfigFile(natsConfPath)
	if err != nil {
		t.Fatalf("%s: %v", natsConfPath, err)
	}
	checks := []struct {
		ok   bool
		rule string
	}{
		{opts.ServerName == "nats-0", "server_name comes from $SERVER_NAME (unique per node, required by JetStream clustering)"},
		{opts.JetStream, "jetstream is enabled"},
		{opts.StoreDir != "", "jetstream.store_dir is set"},
		{opts.JetStreamMaxMemory > 0, "jetstream.max_memory_store is set"},
		{opts.JetStreamMaxStore > 0, "jetstream.max_file_store is set"},
		{opts.Cluster.Name != "", "cluster.name is set"},
		{opts.Cluster.Port > 0, "cluster.listen is set"},
		{len(opts.Routes) == 3, fmt.Sprintf("cluster.routes names the 3 nodes (has %d)", len(opts.Routes))},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: want %s", natsConfPath, c.rule)
		}
	}
}

// TestReadmeConfiguration guards the parser the other checks rely on.
func TestReadmeConfiguration(t *testing.T) {
	cfg := loadReadmeConfig(t)
	for _, v := range []string{"SCODA_ENV", "HTTP_ADDR", "DATABASE_URL", "NATS_URL", "SHUTDOWN_TIMEOUT", "OTEL_SERVICE_NAME"} {
		if !cfg.vars[v] {
			t.Errorf("README Configuration table: %s not found", v)
		}
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "services"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if got := slices.Sorted(maps.Keys(cfg.ports)); !slices.Equal(got, dirs) {
		t.Errorf("README HTTP_ADDR defaults name services %v; services/ holds %v", got, dirs)
	}
}

// TestDeployCheckersCatchProblems shows that the rules can fail: each case breaks one thing,
// in a real file (mutate fails if the text it replaces is gone) or in a small snippet, and
// expects the checker to name it.
func TestDeployCheckersCatchProblems(t *testing.T) {
	cfg := loadReadmeConfig(t)
	composeDir := filepath.Dir(composePath)
	compose := string(readFile(t, composePath))
	collector := string(readFile(t, collectorPath))
	dockerfile := string(readFile(t, dockerfilePath))
	dockerignore := string(readFile(t, dockerignorePath))
	tracking := string(readFile(t, filepath.Join(k8sDir, "tracking.yaml")))
	configmap := string(readFile(t, filepath.Join(k8sDir, "configmap.yaml")))
	secret := string(readFile(t, filepath.Join(k8sDir, "secret.yaml")))
	modules := workspaceModules(string(readFile(t, filepath.Join(repoRoot, "go.work"))))

	// k8s checks a set of documents, for tracking only; the broken one replaces the real file.
	trackingOnly := cfg
	trackingOnly.ports = map[string]int{"tracking": cfg.ports["tracking"]}
	k8s := func(t *testing.T, docs ...string) []string {
		var objs []k8sObject
		var problems []string
		for i, d := range docs {
			o, p := parseK8s(fmt.Sprintf("doc%d.yaml", i), []byte(d))
			objs, problems = append(objs, o...), append(problems, p...)
		}
		return append(problems, checkK8s(objs, trackingOnly)...)
	}

	tests := []struct {
		name string
		run  func(t *testing.T) []string
		want string
	}{
		{
			name: "compose/depends_on an undefined service",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(`
services:
  api:
    image: example/api
    depends_on:
      db:
        condition: service_healthy
`), composeDir, readmeConfig{vars: cfg.vars})
			},
			want: `depends_on "db", which is not a service`,
		},
		{
			name: "compose/service_healthy on a service without healthcheck",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(`
services:
  db:
    image: postgres:15-alpine
  api:
    image: example/api
    depends_on:
      db:
        condition: service_healthy
`), composeDir, readmeConfig{vars: cfg.vars})
			},
			want: "db has no healthcheck",
		},
		{
			name: "compose/variable the README does not name",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(mutate(t, compose, "  LOG_LEVEL: info\n", "  LOG_LEVEL: info\n  DB_POOL_SIZE: \"10\"\n")), composeDir, cfg)
			},
			want: "DB_POOL_SIZE is not in the README Configuration table",
		},
		{
			name: "compose/wrong published port",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(mutate(t, compose, `"8082:8082"`, `"9082:8082"`)), composeDir, cfg)
			},
			want: "does not publish port 8082",
		},
		{
			name: "compose/missing Dockerfile",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(mutate(t, compose, "dockerfile: deploy/docker/Dockerfile", "dockerfile: deploy/Dockerfile")), composeDir, cfg)
			},
			want: "deploy/Dockerfile",
		},
		{
			name: "compose/store URL host that is no service",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(mutate(t, compose, "redis://redis:6379/0", "redis://127.0.0.1:6379/0")), composeDir, cfg)
			},
			want: `REDIS_URL points at host "127.0.0.1"`,
		},
		{
			name: "compose/curl healthcheck in a distroless service",
			run: func(t *testing.T) []string {
				return checkCompose([]byte(mutate(t, compose, "    restart: on-failure\n",
					"    restart: on-failure\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://127.0.0.1:8081/readyz\"]\n")), composeDir, cfg)
			},
			want: "distroless",
		},
		{
			name: "collector/pipeline references an undefined exporter",
			run: func(t *testing.T) []string {
				return checkCollector([]byte(`
receivers:
  otlp:
    protocols:
      grpc:
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp_grpc/jaeger]
`))
			},
			want: `exporter "otlp_grpc/jaeger" is not defined`,
		},
		{
			name: "collector/memory_limiter not first",
			run: func(t *testing.T) []string {
				return checkCollector([]byte(mutate(t, collector, "processors: [memory_limiter, batch]", "processors: [batch, memory_limiter]")))
			},
			want: "memory_limiter must come first",
		},
		{
			name: "k8s/grace period not above preStop + SHUTDOWN_TIMEOUT",
			run: func(t *testing.T) []string {
				return k8s(t, configmap, secret, mutate(t, tracking, "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds: 30"))
			},
			want: "terminationGracePeriodSeconds 30s must exceed",
		},
		{
			name: "k8s/SHUTDOWN_TIMEOUT raised past the grace period",
			run: func(t *testing.T) []string {
				return k8s(t, configmap, secret, mutate(t, tracking, "value: 25s", "value: 40s"))
			},
			want: "SHUTDOWN_TIMEOUT 40s",
		},
		{
			name: "k8s/readiness probe on /healthz",
			run: func(t *testing.T) []string {
				return k8s(t, configmap, secret, mutate(t, tracking, "path: /readyz", "path: /healthz"))
			},
			want: "readiness probe hits /healthz, want /readyz",
		},
		{
			name: "k8s/Service targets a port the container does not have",
			run: func(t *testing.T) []string {
				return k8s(t, configmap, secret, mutate(t, tracking, "targetPort: http", "targetPort: 8080"))
			},
			want: "targetPort 8080",
		},
		{
			name: "k8s/runAsNonRoot false",
			run: func(t *testing.T) []string {
				return k8s(t, configmap, secret, strings.ReplaceAll(tracking, "runAsNonRoot: true", "runAsNonRoot: false"))
			},
			want: "runAsNonRoot",
		},
		{
			name: "k8s/variable the README does not name",
			run: func(t *testing.T) []string {
				return k8s(t, secret, tracking, mutate(t, configmap, "  LOG_LEVEL: info\n", "  LOG_LEVEL: info\n  DB_POOL_SIZE: \"10\"\n"))
			},
			want: "DB_POOL_SIZE is not in the README Configuration table",
		},
		{
			name: "k8s/unquoted number in a ConfigMap",
			run: func(t *testing.T) []string {
				return k8s(t, secret, tracking, mutate(t, configmap, `NATS_STREAM_REPLICAS: "3"`, `NATS_STREAM_REPLICAS: 3`))
			},
			want: "must be a string",
		},
		{
			name: "k8s/database URL in plain text",
			run: func(t *testing.T) []string {
				return k8s(t, configmap, secret, mutate(t, tracking, `            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: scoda-secrets
                  key: DATABASE_URL`, `            - name: DATABASE_URL
              value: postgres://scoda:hunter2@db:5432/scoda`))
			},
			want: "DATABASE_URL must come from a Secret",
		},
		{
			name: "k8s/document without metadata.name",
			run: func(t *testing.T) []string {
				return k8s(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n")
			},
			want: "metadata.name",
		},
		{
			name: "k8s/kustomization lists a missing file and misses one",
			run: func(t *testing.T) []string {
				dir := t.TempDir()
				for _, f := range []string{"a.yaml", "b.yaml"} {
					if err := os.WriteFile(filepath.Join(dir, f), []byte("kind: x\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				problems := checkKustomization([]byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml, c.yaml]\n"), dir, nil)
				if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "c.yaml, which does not exist") }) {
					t.Errorf("missing resource c.yaml not reported: %q", problems)
				}
				return problems
			},
			want: "b.yaml is not listed",
		},
		{
			name: "dockerfile/runs as root",
			run: func(t *testing.T) []string {
				return checkDockerfile(strings.ReplaceAll(dockerfile, "USER nonroot:nonroot", "USER root"), cfg, modules)
			},
			want: `runs as "root"`,
		},
		{
			name: "dockerfile/final stage not distroless",
			run: func(t *testing.T) []string {
				return checkDockerfile(mutate(t, dockerfile, "FROM gcr.io/distroless/static-debian12:nonroot AS runtime", "FROM alpine:3.22 AS runtime"), cfg, modules)
			},
			want: "not distroless",
		},
		{
			name: "dockerfile/go.work not copied before the download",
			run: func(t *testing.T) []string {
				return checkDockerfile(mutate(t, dockerfile, "COPY go.work go.work.sum ./\n", ""), cfg, modules)
			},
			want: "no COPY of go.work",
		},
		{
			name: "dockerfile/cgo left on",
			run: func(t *testing.T) []string {
				return checkDockerfile(mutate(t, dockerfile, "ENV CGO_ENABLED=0\n", ""), cfg, modules)
			},
			want: "CGO_ENABLED=0",
		},
		{
			name: "dockerfile/a workspace module's go.mod missing",
			run: func(t *testing.T) []string {
				return checkDockerfile(mutate(t, dockerfile, "COPY scripts/go.mod scripts/go.sum scripts/\n", ""), cfg, modules)
			},
			want: "no COPY of scripts/go.mod",
		},
		{
			name: "dockerignore/.git sent and pkg left out",
			run: func(t *testing.T) []string {
				return checkDockerignore(".bin\n.data\npkg\n", dockerfile, cfg, repoRoot)
			},
			want: "does not exclude .git",
		},
		{
			name: "dockerignore/excludes what the build copies",
			run: func(t *testing.T) []string {
				return checkDockerignore(dockerignore+"**/migrations\n", dockerfile, cfg, repoRoot)
			},
			want: "needs, e.g. services/tracking/migrations/",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := tt.run(t)
			t.Logf("reported:\n%s", strings.Join(problems, "\n"))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("want a problem containing %q, got %d:\n%s", tt.want, len(problems), strings.Join(problems, "\n"))
			}
		})
	}
}

// ---- README ------------------------------------------------------------------------------

// readmeConfig is what README.md's Configuration table says.
type readmeConfig struct {
	vars     map[string]bool // every variable named in the first column
	ports    map[string]int  // service -> default port, from the HTTP_ADDR row
	shutdown time.Duration   // SHUTDOWN_TIMEOUT default
	startup  time.Duration   // STARTUP_TIMEOUT default
}

var (
	backticked  = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	defaultPort = regexp.MustCompile("`:([0-9]+)` ([a-z]+)")
)

func loadReadmeConfig(t *testing.T) readmeConfig {
	t.Helper()
	cfg, err := parseReadmeConfig(string(readFile(t, filepath.Join(repoRoot, "README.md"))))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	return cfg
}

func parseReadmeConfig(md string) (readmeConfig, error) {
	cfg := readmeConfig{vars: map[string]bool{}, ports: map[string]int{}}
	_, section, ok := strings.Cut(md, "\n## Configuration\n")
	if !ok {
		return cfg, errors.New(`no "## Configuration" section`)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		names := backticked.FindAllStringSubmatch(cells[0], -1)
		for _, m := range names {
			cfg.vars[m[1]] = true
		}
		if len(names) != 1 {
			continue
		}
		def := strings.TrimSpace(cells[1])
		switch name := names[0][1]; name {
		case "HTTP_ADDR":
			for _, m := range defaultPort.FindAllStringSubmatch(def, -1) {
				cfg.ports[m[2]], _ = strconv.Atoi(m[1])
			}
		case "SHUTDOWN_TIMEOUT", "STARTUP_TIMEOUT":
			d, err := time.ParseDuration(strings.Trim(def, "`"))
			if err != nil {
				return cfg, fmt.Errorf("%s default: %w", name, err)
			}
			if name == "SHUTDOWN_TIMEOUT" {
				cfg.shutdown = d
			} else {
				cfg.startup = d
			}
		}
	}
	switch {
	case len(cfg.vars) < 10:
		return cfg, fmt.Errorf("Configuration table names only %d variables", len(cfg.vars))
	case len(cfg.ports) == 0:
		return cfg, errors.New("no service ports in the HTTP_ADDR default")
	case cfg.shutdown == 0 || cfg.startup == 0:
		return cfg, errors.New("no SHUTDOWN_TIMEOUT or STARTUP_TIMEOUT default")
	}
	return cfg, nil
}

// goRuntimeEnv are read by the Go runtime, not by the services' config.
var goRuntimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// ---- compose -----------------------------------------------------------------------------

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string              `yaml:"image"`
	Build       *composeBuild       `yaml:"build"`
	Environment stringMap           `yaml:"environment"`
	DependsOn   dependsOn           `yaml:"depends_on"`
	Ports       composePorts        `yaml:"ports"`
	Healthcheck *composeHealthcheck `yaml:"healthcheck"`
	Volumes     []yaml.Node         `yaml:"volumes"`
}

type composeBuild struct {
	Context    string    `yaml:"context"`
	Dockerfile string    `yaml:"dockerfile"`
	Args       stringMap `yaml:"args"`
}

func (b *composeBuild) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain composeBuild
	return n.Decode((*plain)(b))
}

// stringMap is a compose mapping written either as a map or as a list of KEY=VALUE.
type stringMap map[string]string

func (m *stringMap) UnmarshalYAML(n *yaml.Node) error {
	out := stringMap{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
	} else {
		var mm map[string]*string
		if err := n.Decode(&mm); err != nil {
			return err
		}
		for k, v := range mm {
			out[k] = ""
			if v != nil {
				out[k] = *v
			}
		}
	}
	*m = out
	return nil
}

// dependsOn maps a dependency to its condition (short list syntax: service_started).
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	out := dependsOn{}
	if n.Kind == yaml.SequenceNode {
		var names []string
		if err := n.Decode(&names); err != nil {
			return err
		}
		for _, name := range names {
			out[name] = "service_started"
		}
	} else {
		var long map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		for name, v := range long {
			out[name] = cmp.Or(v.Condition, "service_started")
		}
	}
	*d = out
	return nil
}

type composePort struct{ published, target string }

type composePorts []composePort

func (p *composePorts) UnmarshalYAML(n *yaml.Node) error {
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode {
			spec, _, _ := strings.Cut(item.Value, "/") // drop "/tcp"
			parts := strings.Split(spec, ":")
			port := composePort{target: parts[len(parts)-1]}
			if len(parts) > 1 {
				port.published = parts[len(parts)-2]
			}
			*p = append(*p, port)
			continue
		}
		var long struct {
			Target    string `yaml:"target"`
			Published string `yaml:"published"`
		}
		if err := item.Decode(&long); err != nil {
			return err
		}
		*p = append(*p, composePort{published: long.Published, target: long.Target})
	}
	return nil
}

type composeHealthcheck struct {
	Test    any  `yaml:"test"`
	Disable bool `yaml:"disable"`
}

func (h *composeHealthcheck) command() string {
	if h == nil || h.Disable {
		return ""
	}
	switch t := h.Test.(type) {
	case string:
		return t
	case []any:
		var parts []string
		for _, p := range t {
			parts = append(parts, fmt.Sprint(p))
		}
		if len(parts) > 0 && parts[0] == "NONE" {
			return ""
		}
		return strings.Join(parts, " ")
	}
	return ""
}

var composeVar = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?]([^}]*))?\}`)

// interpolate replaces compose's ${VAR:-default} with its default, so values parse as URLs.
func interpolate(s string) string { return composeVar.ReplaceAllString(s, "$1") }

func checkCompose(data []byte, dir string, cfg readmeConfig) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, "compose: "+fmt.Sprintf(format, a...)) }
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		bad("%v", err)
		return problems
	}
	if len(c.Services) == 0 {
		bad("no services")
	}
	scoda := map[string]string{} // build-arg SERVICE -> compose service
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s := c.Services[name]
		if s.Image == "" && s.Build == nil {
			bad("service %s has neither image nor build", name)
		}
		if b := s.Build; b != nil {
			ctx := filepath.Join(dir, b.Context)
			if st, err := os.Stat(ctx); err != nil || !st.IsDir() {
				bad("service %s: build context %s (from %s) is not a directory", name, b.Context, dir)
			} else if df := filepath.Join(ctx, cmp.Or(b.Dockerfile, "Dockerfile")); !exists(df) {
				bad("service %s: dockerfile %s (relative to the build context) does not exist", name, cmp.Or(b.Dockerfile, "Dockerfile"))
			}
			if svc := b.Args["SERVICE"]; svc != "" {
				scoda[svc] = name
			}
		}
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			cond := s.DependsOn[dep]
			target, ok := c.Services[dep]
			switch {
			case !ok:
				bad("service %s: depends_on %q, which is not a service in the file", name, dep)
			case !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, cond):
				bad("service %s: depends_on %s with unknown condition %q", name, dep, cond)
			case cond == "service_healthy" && target.Healthcheck.command() == "":
				bad("service %s: depends_on %s with condition service_healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
		for _, v := range s.Volumes {
			var src string
			switch v.Kind {
			case yaml.ScalarNode:
				src, _, _ = strings.Cut(v.Value, ":")
			case yaml.MappingNode:
				var long struct{ Type, Source string }
				if err := v.Decode(&long); err == nil && long.Type == "bind" {
					src = long.Source
				}
			}
			if (strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/")) && !exists(filepath.Join(dir, src)) {
				bad("service %s: bind mount source %s does not exist", name, src)
			}
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(scoda)) {
		if _, ok := cfg.ports[svc]; !ok {
			bad("service %s: build-arg SERVICE=%s is not a service the README knows", scoda[svc], svc)
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(cfg.ports)) {
		name, ok := scoda[svc]
		if !ok {
			bad("no service builds SERVICE=%s", svc)
			continue
		}
		problems = append(problems, checkComposeSCODA(c, name, cfg.ports[svc], cfg)...)
	}
	return problems
}

// checkComposeSCODA holds one of the three services to the README.
func checkComposeSCODA(c composeFile, name string, port int, cfg readmeConfig) []string {
	var problems []string
	bad := func(format string, a ...any) {
		problems = append(problems, "compose: service "+name+": "+fmt.Sprintf(format, a...))
	}
	s := c.Services[name]
	env := s.Environment
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if !cfg.vars[k] {
			bad("environment variable %s is not in the README Configuration table", k)
		}
	}
	for _, k := range []string{"SCODA_ENV", "HTTP_ADDR", "DATABASE_URL", "REDIS_URL", "NATS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if _, ok := env[k]; !ok {
			bad("environment variable %s is not set", k)
		}
	}
	if e := env["SCODA_ENV"]; e != "local" && e != "test" && env["AUTH_JWT_SECRET"] == "" && env["AUTH_JWT_PUBLIC_KEY_FILE"] == "" {
		bad("SCODA_ENV=%s refuses the development secret, and no AUTH_JWT_SECRET is set", e)
	}
	if addr, ok := env["HTTP_ADDR"]; ok {
		if _, p, err := net.SplitHostPort(addr); err != nil || p != strconv.Itoa(port) {
			bad("HTTP_ADDR %q does not listen on %d", addr, port)
		}
	}
	if !slices.Contains(s.Ports, composePort{published: strconv.Itoa(port), target: strconv.Itoa(port)}) {
		bad("does not publish port %d as %d:%d (README: http://127.0.0.1:%d)", port, port, port, port)
	}
	for _, k := range []string{"DATABASE_URL", "REDIS_URL", "NATS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		for _, raw := range strings.Split(env[k], ",") {
			if raw == "" {
				continue
			}
			u, err := url.Parse(interpolate(strings.TrimSpace(raw)))
			if err != nil {
				bad("%s: %v", k, err)
				continue
			}
			host := u.Hostname()
			if _, ok := c.Services[host]; !ok {
				bad("%s points at host %q, which is not a service in the file", k, host)
			} else if _, ok := s.DependsOn[host]; !ok {
				bad("%s uses %s but the service does not depend_on it", k, host)
			}
		}
	}
	if cmd := s.Healthcheck.command(); regexp.MustCompile(`\b(curl|wget|sh|bash)\b`).MatchString(cmd) {
		bad("healthcheck runs %q, but the image is distroless (no shell, curl or wget)", cmd)
	}
	return problems
}

// ---- OpenTelemetry collector -------------------------------------------------------------

type collectorConfig struct {
	Receivers  map[string]any `yaml:"receivers"`
	Processors map[string]any `yaml:"processors"`
	Exporters  map[string]any `yaml:"exporters"`
	Connectors map[string]any `yaml:"connectors"`
	Extensions map[string]any `yaml:"extensions"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

func checkCollector(data []byte) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, "collector: "+fmt.Sprintf(format, a...)) }
	var c collectorConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		bad("%v", err)
		return problems
	}
	defined := func(id string, sections ...map[string]any) bool {
		for _, s := range sections {
			if _, ok := s[id]; ok {
				return true
			}
		}
		return false
	}
	if len(c.Service.Pipelines) == 0 {
		bad("service.pipelines is empty")
	}
	for _, id := range slices.Sorted(maps.Keys(c.Service.Pipelines)) {
		p := c.Service.Pipelines[id]
		if signal, _, _ := strings.Cut(id, "/"); !slices.Contains([]string{"traces", "metrics", "logs", "profiles"}, signal) {
			bad("pipeline %s: %q is not a signal (traces, metrics, logs, profiles)", id, signal)
		}
		if len(p.Receivers) == 0 || len(p.Exporters) == 0 {
			bad("pipeline %s needs at least one receiver and one exporter", id)
		}
		for _, r := range p.Receivers {
			if !defined(r, c.Receivers, c.Connectors) {
				bad("pipeline %s: receiver %q is not defined under receivers", id, r)
			}
		}
		for i, pr := range p.Processors {
			if !defined(pr, c.Processors) {
				bad("pipeline %s: processor %q is not defined under processors", id, pr)
			}
			if strings.Split(pr, "/")[0] == "memory_limiter" && i != 0 {
				bad("pipeline %s: memory_limiter must come first among the processors", id)
			}
		}
		for _, e := range p.Exporters {
			if !defined(e, c.Exporters, c.Connectors) {
				bad("pipeline %s: exporter %q is not defined under exporters", id, e)
			}
		}
	}
	for _, e := range c.Service.Extensions {
		if !defined(e, c.Extensions) {
			bad("service.extensions: %q is not defined under extensions", e)
		}
	}
	return problems
}

// ---- Kubernetes --------------------------------------------------------------------------

type k8sObject struct {
	file       string
	node       *yaml.Node
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
}

func (o k8sObject) String() string { return fmt.Sprintf("%s %s (%s)", o.Kind, o.Metadata.Name, o.file) }

type k8sMeta struct {
	Name        string     `yaml:"name"`
	Labels      k8sStrings `yaml:"labels"`
	Annotations k8sStrings `yaml:"annotations"`
}

// k8sStrings is a map[string]string that, like the API server, refuses unquoted numbers and
// booleans as values (NATS_STREAM_REPLICAS: 3, prometheus.io/scrape: true).
type k8sStrings map[string]string

func (m *k8sStrings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	out := k8sStrings{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
			return fmt.Errorf("line %d: value of %s must be a string, not %s (quote it)", v.Line, k.Value, v.ShortTag())
		}
		out[k.Value] = v.Value
	}
	*m = out
	return nil
}

// intOrString is a port or count given as a number or a name ("http", "25%").
type intOrString struct {
	str   string
	num   int
	isNum bool
}

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a string", n.Line)
	}
	v.str = n.Value
	if n.ShortTag() == "!!int" {
		var err error
		v.num, err = strconv.Atoi(n.Value)
		v.isNum = err == nil
	}
	return nil
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// selects tells whether a non-empty selector matches labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type deployment struct {
	Spec struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate *struct {
				MaxUnavailable *intOrString `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata k8sMeta `yaml:"metadata"`
			Spec     struct {
				TerminationGracePeriodSeconds *int             `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               *securityContext `yaml:"securityContext"`
				Containers                    []container      `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type securityContext struct {
	RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
	ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	Capabilities             *struct {
		Drop []string `yaml:"drop"`
	} `yaml:"capabilities"`
}

type container struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env       []envVar `yaml:"env"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	SecurityContext *securityContext `yaml:"securityContext"`
}

type keyRef struct{ Name, Key string }

type envVar struct {
	Name      string    `yaml:"name"`
	Value     k8sString `yaml:"value"`
	ValueFrom *struct {
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
	} `yaml:"valueFrom"`
}

// k8sString is a string value that must be written as one (see k8sStrings).
type k8sString string

func (s *k8sString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return fmt.Errorf("line %d: value must be a string, not %s (quote it)", n.Line, n.ShortTag())
	}
	*s = k8sString(n.Value)
	return nil
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
	PeriodSeconds    int `yaml:"periodSeconds"`
	FailureThreshold int `yaml:"failureThreshold"`
}

type k8sService struct {
	Spec struct {
		Type     string            `yaml:"type"`
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type podDisruptionBudget struct {
	Spec struct {
		MinAvailable   *intOrString  `yaml:"minAvailable"`
		MaxUnavailable *intOrString  `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

// loadK8s parses every YAML file in dir but the kustomization.
func loadK8s(t *testing.T, dir string) ([]k8sObject, []string) {
	t.Helper()
	var objs []k8sObject
	var problems []string
	for _, f := range yamlFilesIn(t, dir) {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		o, p := parseK8s(f, readFile(t, filepath.Join(dir, f)))
		objs, problems = append(objs, o...), append(problems, p...)
	}
	return objs, problems
}

func parseK8s(file string, data []byte) ([]k8sObject, []string) {
	docs, err := yamlDocs(data)
	if err != nil {
		return nil, []string{fmt.Sprintf("k8s: %s: %v", file, err)}
	}
	var objs []k8sObject
	var problems []string
	for i, d := range docs {
		o := k8sObject{file: file, node: d}
		if err := d.Decode(&o); err != nil {
			problems = append(problems, fmt.Sprintf("k8s: %s document %d: %v", file, i+1, err))
			continue
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			problems = append(problems, fmt.Sprintf("k8s: %s document %d: needs apiVersion, kind and metadata.name", file, i+1))
			continue
		}
		objs = append(objs, o)
	}
	return objs, problems
}

func checkK8s(objs []k8sObject, cfg readmeConfig) []string {
	var problems []string
	configMaps := map[string]map[string]string{}
	secrets := map[string]map[string]string{}
	var services []k8sObject
	var pdbs []k8sObject
	for _, o := range objs {
		var err error
		switch o.Kind {
		case "ConfigMap":
			var cm struct {
				Data k8sStrings `yaml:"data"`
			}
			err = o.node.Decode(&cm)
			configMaps[o.Metadata.Name] = cm.Data
		case "Secret":
			var s struct {
				Data       k8sStrings `yaml:"data"`
				StringData k8sStrings `yaml:"stringData"`
			}
			err = o.node.Decode(&s)
			keys := map[string]string{}
			maps.Copy(keys, s.Data)
			maps.Copy(keys, s.StringData)
			secrets[o.Metadata.Name] = keys
		case "Service":
			services = append(services, o)
		case "PodDisruptionBudget":
			pdbs = append(pdbs, o)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("k8s: %s: %v", o, err))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(configMaps)) {
		for _, k := range slices.Sorted(maps.Keys(configMaps[name])) {
			if !allowedEnv(k, cfg) {
				problems = append(problems, fmt.Sprintf("k8s: ConfigMap %s: %s is not in the README Configuration table", name, k))
			}
		}
	}
	deployments := map[string]bool{}
	for _, o := range objs {
		if o.Kind != "Deployment" {
			continue
		}
		deployments[o.Metadata.Name] = true
		problems = append(problems, checkDeployment(o, services, pdbs, configMaps, secrets, cfg)...)
	}
	for _, svc := range slices.Sorted(maps.Keys(cfg.ports)) {
		if !deployments[svc] {
			problems = append(problems, "k8s: no Deployment "+svc)
		}
	}
	return problems
}

func allowedEnv(name string, cfg readmeConfig) bool {
	return cfg.vars[name] || strings.HasPrefix(name, "OTEL_") || goRuntimeEnv[name]
}

// envValue is where a container's variable comes from.
type envValue struct {
	value  string
	known  bool   // literal or from a ConfigMap
	secret string // the Secret it comes from, if any
}

func checkDeployment(o k8sObject, services, pdbs []k8sObject, configMaps, secrets map[string]map[string]string, cfg readmeConfig) []string {
	var problems []string
	bad := func(format string, a ...any) {
		problems = append(problems, "k8s: "+o.String()+": "+fmt.Sprintf(format, a...))
	}
	var d deployment
	if err := o.node.Decode(&d); err != nil {
		bad("%v", err)
		return problems
	}
	spec := d.Spec
	pod := spec.Template.Spec
	labels := spec.Template.Metadata.Labels
	replicas := 1
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	if replicas < 2 {
		bad("replicas %d: run at least 2", replicas)
	}
	if !selects(spec.Selector.MatchLabels, labels) {
		bad("selector.matchLabels does not select the pod template's labels")
	}
	if st := spec.Strategy; st.Type != "" && st.Type != "RollingUpdate" || st.RollingUpdate == nil ||
		st.RollingUpdate.MaxUnavailable == nil || !st.RollingUpdate.MaxUnavailable.isNum || st.RollingUpdate.MaxUnavailable.num != 0 {
		bad("strategy must be RollingUpdate with maxUnavailable: 0")
	}
	if len(pod.Containers) == 0 {
		bad("no containers")
		return problems
	}
	for _, c := range pod.Containers {
		cbad := func(format string, a ...any) { bad("container "+c.Name+": "+format, a...) }
		if len(c.Ports) == 0 {
			cbad("no containerPort")
			continue
		}
		port := c.Ports[0].ContainerPort
		resolve := func(p intOrString) (int, bool) {
			if p.isNum {
				return p.num, true
			}
			for _, cp := range c.Ports {
				if cp.Name == p.str {
					return cp.ContainerPort, true
				}
			}
			return 0, false
		}

		// Environment: envFrom first, env overrides; every name must be one the README names.
		env := map[string]envValue{}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				data, ok := configMaps[ef.ConfigMapRef.Name]
				if !ok {
					cbad("envFrom ConfigMap %s is not defined", ef.ConfigMapRef.Name)
				}
				for k, v := range data {
					env[k] = envValue{value: v, known: true}
				}
			case ef.SecretRef != nil:
				data, ok := secrets[ef.SecretRef.Name]
				if !ok {
					cbad("envFrom Secret %s is not defined", ef.SecretRef.Name)
				}
				for k := range data {
					if !allowedEnv(k, cfg) {
						cbad("Secret %s key %s is not in the README Configuration table", ef.SecretRef.Name, k)
					}
					env[k] = envValue{secret: ef.SecretRef.Name}
				}
			}
		}
		for _, e := range c.Env {
			if !allowedEnv(e.Name, cfg) {
				cbad("environment variable %s is not in the README Configuration table", e.Name)
			}
			switch {
			case e.ValueFrom == nil:
				env[e.Name] = envValue{value: string(e.Value), known: true}
			case e.ValueFrom.SecretKeyRef != nil:
				r := e.ValueFrom.SecretKeyRef
				if _, ok := secrets[r.Name][r.Key]; !ok {
					cbad("%s: Secret %s has no key %s", e.Name, r.Name, r.Key)
				}
				env[e.Name] = envValue{secret: r.Name}
			case e.ValueFrom.ConfigMapKeyRef != nil:
				r := e.ValueFrom.ConfigMapKeyRef
				v, ok := configMaps[r.Name][r.Key]
				if !ok {
					cbad("%s: ConfigMap %s has no key %s", e.Name, r.Name, r.Key)
				}
				env[e.Name] = envValue{value: v, known: true}
			default:
				env[e.Name] = envValue{}
			}
		}
		lookup := func(name, def string) string {
			if v, ok := env[name]; ok && v.known {
				return v.value
			}
			return def
		}
		for _, k := range []string{"AUTH_JWT_SECRET", "DATABASE_URL"} {
			if v, ok := env[k]; ok && v.secret == "" {
				cbad("%s must come from a Secret, not a literal or a ConfigMap", k)
			}
		}
		if _, ok := env["DATABASE_URL"]; !ok {
			cbad("DATABASE_URL is not set")
		}
		if e := lookup("SCODA_ENV", "local"); e != "local" && e != "test" {
			_, secret := env["AUTH_JWT_SECRET"]
			_, key := env["AUTH_JWT_PUBLIC_KEY_FILE"]
			if !secret && !key {
				cbad("SCODA_ENV=%s needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY_FILE", e)
			}
		}
		if r := lookup("NATS_STREAM_REPLICAS", "1"); r != "3" {
			cbad("NATS_STREAM_REPLICAS is %s; on the 3-node JetStream cluster streams are R3", r)
		}
		addr := lookup("HTTP_ADDR", fmt.Sprintf(":%d", cfg.ports[c.Name]))
		if _, p, err := net.SplitHostPort(addr); err != nil || p != strconv.Itoa(port) {
			cbad("HTTP_ADDR %q does not listen on containerPort %d", addr, port)
		}

		// Probes on the container port: liveness /healthz, readiness /readyz.
		checkProbe := func(kind string, p *probe, paths ...string) {
			switch {
			case p == nil:
				cbad("no %s probe", kind)
			case p.HTTPGet == nil:
				cbad("%s probe is not an httpGet", kind)
			case !slices.Contains(paths, p.HTTPGet.Path):
				cbad("%s probe hits %s, want %s", kind, p.HTTPGet.Path, strings.Join(paths, " or "))
			default:
				if got, ok := resolve(p.HTTPGet.Port); !ok || got != port {
					cbad("%s probe port %s is not containerPort %d", kind, p.HTTPGet.Port.str, port)
				}
			}
		}
		checkProbe("liveness", c.LivenessProbe, "/healthz")
		checkProbe("readiness", c.ReadinessProbe, "/readyz")
		if p := c.StartupProbe; p != nil {
			checkProbe("startup", p, "/healthz", "/readyz")
			startup, err := time.ParseDuration(lookup("STARTUP_TIMEOUT", cfg.startup.String()))
			budget := time.Duration(cmp.Or(p.PeriodSeconds, 10)*cmp.Or(p.FailureThreshold, 3)) * time.Second
			if err == nil && budget <= startup {
				cbad("startup probe allows %s, not more than STARTUP_TIMEOUT %s: slow starts get killed", budget, startup)
			}
		}

		// Shutdown: the grace period must outlast the preStop sleep plus SHUTDOWN_TIMEOUT.
		shutdown, err := time.ParseDuration(lookup("SHUTDOWN_TIMEOUT", cfg.shutdown.String()))
		if err != nil {
			cbad("SHUTDOWN_TIMEOUT: %v", err)
		}
		var preStop time.Duration
		if l := c.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
			preStop = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
		}
		grace := 30 * time.Second // the Kubernetes default
		if pod.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		}
		if grace <= preStop+shutdown {
			cbad("terminationGracePeriodSeconds %s must exceed preStop sleep %s + SHUTDOWN_TIMEOUT %s, or SIGKILL cuts the drain short", grace, preStop, shutdown)
		}

		// Security: nonroot, read-only root, no privilege escalation, no capabilities.
		nonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
		sc := c.SecurityContext
		if sc != nil && sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if !nonRoot {
			cbad("securityContext.runAsNonRoot must be true")
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			cbad("securityContext.readOnlyRootFilesystem must be true")
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			cbad("securityContext.allowPrivilegeEscalation must be false")
		}
		if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			cbad("securityContext.capabilities.drop must include ALL")
		}

		// Resources: requests for scheduling, a memory limit; GOMEMLIMIT below it.
		res := c.Resources
		if res.Requests["cpu"] == "" || res.Requests["memory"] == "" || res.Limits["memory"] == "" {
			cbad("resources need requests.cpu, requests.memory and limits.memory")
		}
		if gml := lookup("GOMEMLIMIT", ""); gml != "" {
			soft, err1 := parseBytes(gml)
			limit, err2 := parseBytes(res.Limits["memory"])
			if err := errors.Join(err1, err2); err != nil || soft >= limit {
				cbad("GOMEMLIMIT %s must be below limits.memory %s (%v)", gml, res.Limits["memory"], err)
			}
		}

		// Prometheus scrapes the container port.
		ann := spec.Template.Metadata.Annotations
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(port) || cmp.Or(ann["prometheus.io/path"], "/metrics") != "/metrics" {
			cbad("pod annotations must be prometheus.io/scrape \"true\", port %q, path /metrics", strconv.Itoa(port))
		}

		// A ClusterIP Service in front, targeting the container port.
		found := false
		for _, so := range services {
			var s k8sService
			if err := so.node.Decode(&s); err != nil {
				bad("%s: %v", so, err)
				continue
			}
			if !selects(s.Spec.Selector, labels) {
				continue
			}
			found = true
			if t := s.Spec.Type; t != "" && t != "ClusterIP" {
				bad("%s is %s, want ClusterIP", so, t)
			}
			for _, sp := range s.Spec.Ports {
				target := sp.TargetPort
				if target.str == "" {
					target = intOrString{num: sp.Port, isNum: true, str: strconv.Itoa(sp.Port)}
				}
				if got, ok := resolve(target); !ok || got != port {
					bad("%s: targetPort %s is not containerPort %d", so, target.str, port)
				}
			}
		}
		if !found {
			bad("no Service selects its pods")
		}
	}

	// A PodDisruptionBudget that keeps one pod while still letting a node drain.
	found := false
	for _, po := range pdbs {
		var p podDisruptionBudget
		if err := po.node.Decode(&p); err != nil {
			bad("%s: %v", po, err)
			continue
		}
		if !selects(p.Spec.Selector.MatchLabels, labels) {
			continue
		}
		found = true
		if m := p.Spec.MinAvailable; m == nil || !m.isNum || m.num < 1 || m.num >= replicas {
			bad("%s: minAvailable must be a number from 1 to replicas-1 (%d)", po, replicas-1)
		}
	}
	if !found {
		bad("no PodDisruptionBudget selects its pods")
	}
	return problems
}

// parseBytes reads a Kubernetes quantity (256Mi) or a GOMEMLIMIT (230MiB) as bytes.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40},
		{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"B", 1},
	}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * u.mult, err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

type kustomization struct {
	Kind      string   `yaml:"kind"`
	Resources []string `yaml:"resources"`
	Images    []struct {
		Name string `yaml:"name"`
	} `yaml:"images"`
}

// checkKustomization: every listed file exists, every YAML file in dir is listed, and every
// container image is one the kustomization rewrites.
func checkKustomization(data []byte, dir string, objs []k8sObject) []string {
	var problems []string
	bad := func(format string, a ...any) {
		problems = append(problems, "k8s: kustomization.yaml: "+fmt.Sprintf(format, a...))
	}
	var k kustomization
	if err := yaml.Unmarshal(data, &k); err != nil {
		bad("%v", err)
		return problems
	}
	if k.Kind != "Kustomization" {
		bad("kind is %q, want Kustomization", k.Kind)
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if strings.Contains(r, "://") {
			continue
		}
		listed[path.Clean(r)] = true
		if !exists(filepath.Join(dir, r)) {
			bad("lists %s, which does not exist", r)
		}
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isYAML(p) || d.Name() == "kustomization.yaml" {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		for r := range listed {
			if rel == r || strings.HasPrefix(rel, r+"/") {
				return nil
			}
		}
		bad("%s is not listed in resources", rel)
		return nil
	})
	images := map[string]bool{}
	for _, i := range k.Images {
		images[i.Name] = true
	}
	for _, o := range objs {
		if o.Kind != "Deployment" {
			continue
		}
		var d deployment
		if err := o.node.Decode(&d); err != nil {
			continue // reported by checkK8s
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if name, _, _ := strings.Cut(c.Image, ":"); !images[name] {
				bad("image %s of %s is not in images (it would be pulled as written)", c.Image, o)
			}
		}
	}
	return problems
}

// ---- Dockerfile --------------------------------------------------------------------------

type dfInstr struct {
	line int
	cmd  string // upper case
	args string
}

type dfStage struct {
	base, name string
	instrs     []dfInstr
}

// parseDockerfile splits a Dockerfile into stages: comments dropped, continuations joined.
func parseDockerfile(src string) ([]dfStage, error) {
	var stages []dfStage
	var stmt strings.Builder
	start := 0
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if stmt.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			stmt.WriteString(body + " ")
			continue
		}
		stmt.WriteString(line)
		cmd, args, _ := strings.Cut(stmt.String(), " ")
		stmt.Reset()
		in := dfInstr{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			var f []string
			for _, w := range strings.Fields(in.args) {
				if !strings.HasPrefix(w, "--") {
					f = append(f, w)
				}
			}
			if len(f) == 0 {
				return nil, fmt.Errorf("line %d: FROM without an image", start)
			}
			st := dfStage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				return nil, fmt.Errorf("line %d: %s before the first FROM", start, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if stmt.Len() > 0 {
		return nil, errors.New("the file ends inside a line continuation")
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages, nil
}

// copyArgs splits a COPY's arguments into flags, sources and destination.
func copyArgs(args string) (flags map[string]string, srcs []string, dst string) {
	flags = map[string]string{}
	var rest []string
	for _, w := range strings.Fields(args) {
		if f, ok := strings.CutPrefix(w, "--"); ok {
			k, v, _ := strings.Cut(f, "=")
			flags[k] = v
			continue
		}
		rest = append(rest, w)
	}
	if len(rest) == 0 {
		return flags, nil, ""
	}
	return flags, rest[:len(rest)-1], rest[len(rest)-1]
}

func withService(s, svc string) string {
	return strings.NewReplacer("${SERVICE}", svc, "$SERVICE", svc).Replace(s)
}

// buildStage is the stage that runs go build; download is the index of its go mod download.
func buildStage(stages []dfStage) (st *dfStage, download, build int) {
	for i := range stages {
		download, build = -1, -1
		for j, in := range stages[i].instrs {
			if in.cmd == "RUN" && strings.Contains(in.args, "go mod download") && download < 0 {
				download = j
			}
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				build = j
			}
		}
		if build >= 0 {
			return &stages[i], download, build
		}
	}
	return nil, -1, -1
}

func checkDockerfile(src string, cfg readmeConfig, modules []string) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, "Dockerfile: "+fmt.Sprintf(format, a...)) }
	stages, err := parseDockerfile(src)
	if err != nil {
		bad("%v", err)
		return problems
	}
	build, download, gobuild := buildStage(stages)
	if build == nil {
		bad("no stage runs go build")
		return problems
	}
	if !strings.HasPrefix(build.base, "golang:") {
		bad("build stage is FROM %s, want golang:", build.base)
	}
	cgo := false
	for _, in := range build.instrs {
		if (in.cmd == "ENV" || in.cmd == "RUN" || in.cmd == "ARG") && strings.Contains(in.args, "CGO_ENABLED=0") {
			cgo = true
		}
	}
	if !cgo {
		bad("build stage does not set CGO_ENABLED=0: the binary would not be static for distroless/static")
	}
	for _, flag := range []string{"-trimpath", "-ldflags", "-s -w", "-X main.version="} {
		if !strings.Contains(build.instrs[gobuild].args, flag) {
			bad("go build (line %d) lacks %s", build.instrs[gobuild].line, flag)
		}
	}
	if download < 0 || download > gobuild {
		bad("no RUN go mod download before go build: dependencies are not cached in their own layer")
	} else {
		copied := map[string]bool{}
		for _, in := range build.instrs[:download] {
			if in.cmd != "COPY" {
				continue
			}
			flags, srcs, _ := copyArgs(in.args)
			if _, ok := flags["from"]; ok {
				continue
			}
			for _, s := range srcs {
				s = path.Clean(s)
				copied[s] = true
				if b := path.Base(s); b != "go.work" && b != "go.work.sum" && b != "go.mod" && b != "go.sum" {
					bad("COPY %s (line %d) before go mod download: every source change would invalidate the module cache", s, in.line)
				}
			}
		}
		want := []string{"go.work", "go.work.sum"}
		for _, m := range modules {
			want = append(want, path.Join(m, "go.mod"))
		}
		for _, w := range want {
			if !copied[w] {
				bad("no COPY of %s before go mod download: the workspace (go.work) does not load without it", w)
			}
		}
	}

	byName := map[string]*dfStage{}
	for i := range stages {
		if stages[i].name != "" {
			byName[stages[i].name] = &stages[i]
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(cfg.ports)) {
		// The chain of stages the final image is built on, base first.
		chain := []*dfStage{&stages[len(stages)-1]}
		root := ""
		for {
			base := withService(chain[0].base, svc)
			st, ok := byName[base]
			if !ok || slices.Contains(chain, st) {
				root = base
				break
			}
			chain = append([]*dfStage{st}, chain...)
		}
		if !strings.HasPrefix(root, "gcr.io/distroless/") {
			bad("image for %s: final stage runs on %s, not distroless", svc, root)
		}
		user, entrypoint := "", ""
		var exposed, binaries []string
		for _, st := range chain {
			for _, in := range st.instrs {
				args := withService(in.args, svc)
				switch in.cmd {
				case "USER":
					user = args
				case "EXPOSE":
					for _, p := range strings.Fields(args) {
						p, _, _ = strings.Cut(p, "/")
						exposed = append(exposed, p)
					}
				case "ENTRYPOINT":
					entrypoint = args
				case "COPY":
					flags, srcs, dst := copyArgs(args)
					if flags["from"] == build.name && build.name != "" {
						for _, s := range srcs {
							if strings.HasSuffix(dst, "/") {
								binaries = append(binaries, dst+path.Base(s))
							} else {
								binaries = append(binaries, dst)
							}
						}
					}
				}
			}
		}
		if !slices.Contains([]string{"nonroot", "nonroot:nonroot", "65532", "65532:65532"}, user) {
			bad("image for %s runs as %q, want USER nonroot:nonroot", svc, user)
		}
		if !slices.Contains(exposed, strconv.Itoa(cfg.ports[svc])) {
			bad("image for %s does not EXPOSE %d (exposes %v)", svc, cfg.ports[svc], exposed)
		}
		var argv []string
		if err := json.Unmarshal([]byte(entrypoint), &argv); err != nil || len(argv) == 0 {
			bad("image for %s: ENTRYPOINT %q must be exec form (JSON): distroless has no shell", svc, entrypoint)
		} else if !slices.Contains(binaries, argv[0]) {
			bad("image for %s: ENTRYPOINT %s is not the binary copied from the build stage (%v)", svc, argv[0], binaries)
		}
	}
	return problems
}

// workspaceModules lists the directories go.work uses ("pkg", "services/tracking", ...).
func workspaceModules(gowork string) []string {
	var mods []string
	block := false
	for line := range strings.Lines(gowork) {
		l, _, _ := strings.Cut(line, "//")
		l = strings.TrimSpace(l)
		switch {
		case l == "use (":
			block = true
		case block && l == ")":
			block = false
		case block && l != "":
			mods = append(mods, path.Clean(strings.Trim(l, `"`)))
		case strings.HasPrefix(l, "use "):
			mods = append(mods, path.Clean(strings.Trim(strings.TrimSpace(l[4:]), `"`)))
		}
	}
	return mods
}

// ---- .dockerignore -----------------------------------------------------------------------

type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

func parseDockerignore(src string) []ignoreRule {
	var rules []ignoreRule
	for line := range strings.Lines(src) {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		r := ignoreRule{}
		if rest, ok := strings.CutPrefix(p, "!"); ok {
			r.negate, p = true, strings.TrimSpace(rest)
		}
		p = path.Clean(strings.TrimPrefix(p, "/"))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("$")
		r.re = regexp.MustCompile(re.String())
		rules = append(rules, r)
	}
	return rules
}

// ignored applies the rules as BuildKit does: a path is excluded when the last rule that
// matches it, or one of its parent directories, is not a negation.
func ignored(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		match := false
		for p := rel; p != "." && p != "/" && !match; p = path.Dir(p) {
			match = r.re.MatchString(p)
		}
		if match {
			out = !r.negate
		}
	}
	return out
}

// checkDockerignore: local state never enters the build context, and nothing the build
// copies is left out of it (for every service, each copied directory is walked on disk).
func checkDockerignore(src, dockerfile string, cfg readmeConfig, root string) []string {
	var problems []string
	bad := func(format string, a ...any) {
		problems = append(problems, "Dockerfile.dockerignore: "+fmt.Sprintf(format, a...))
	}
	rules := parseDockerignore(src)
	for _, p := range []string{".git", ".git/HEAD", ".bin", ".bin/buf", ".data", ".data/pg/PG_VERSION"} {
		if !ignored(rules, p) {
			bad("does not exclude %s", p)
		}
	}
	stages, err := parseDockerfile(dockerfile)
	if err != nil {
		bad("Dockerfile: %v", err)
		return problems
	}
	build, _, _ := buildStage(stages)
	if build == nil {
		return problems
	}
	needed := func(p string) bool {
		b := path.Base(p)
		switch path.Ext(b) {
		case ".go":
			return !strings.HasSuffix(b, "_test.go")
		case ".sql", ".json", ".yaml", ".yml", ".mod", ".sum", ".work":
			return true
		}
		return b == "go.work.sum"
	}
	reported := map[string]bool{}
	for _, svc := range slices.Sorted(maps.Keys(cfg.ports)) {
		for _, in := range build.instrs {
			if in.cmd != "COPY" {
				continue
			}
			flags, srcs, _ := copyArgs(withService(in.args, svc))
			if _, ok := flags["from"]; ok {
				continue
			}
			for _, s := range srcs {
				s = path.Clean(s)
				if reported[s] {
					continue
				}
				var lost []string
				err := filepath.WalkDir(filepath.Join(root, s), func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, _ := filepath.Rel(root, p)
					if rel = filepath.ToSlash(rel); needed(rel) && ignored(rules, rel) {
						lost = append(lost, rel)
					}
					return nil
				})
				switch {
				case err != nil:
					bad("COPY %s (line %d): %v", s, in.line, err)
				case len(lost) > 0:
					bad("excludes %d file(s) that COPY %s (line %d) needs, e.g. %s", len(lost), s, in.line, lost[0])
				}
				reported[s] = err != nil || len(lost) > 0
			}
		}
	}
	return problems
}

// ---- helpers -----------------------------------------------------------------------------

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// yamlDocs decodes every document of a YAML stream; empty documents are skipped.
func yamlDocs(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, fmt.Errorf("document %d: %w", len(docs)+1, err)
		}
		if n.Kind == 0 || len(n.Content) == 0 || n.Content[0].ShortTag() == "!!null" {
			continue
		}
		docs = append(docs, &n)
	}
}

func yamlFilesIn(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isYAML(p) {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func isYAML(p string) bool { return filepath.Ext(p) == ".yaml" || filepath.Ext(p) == ".yml" }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// mutate replaces the first old in s with new, failing the test if old is gone (the real
// file changed and the negative case no longer tests what it says).
func mutate(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("mutate: %q not found", old)
	}
	return strings.Replace(s, old, new, 1)
}
