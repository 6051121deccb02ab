package app

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
	"github.com/scodalabs/scoda/pkg/observability"
	"github.com/scodalabs/scoda/pkg/postgres"
)

// Config is what every service reads from its environment. Defaults suit a laptop running
// `make run`; production sets SCODA_ENV=production, which refuses the development secret.
type Config struct {
	Env             string        // SCODA_ENV: local | test | staging | production
	HTTPAddr        string        // HTTP_ADDR: listen address, e.g. ":8081"
	DatabaseURL     string        // DATABASE_URL
	DBSchema        string        // DB_SCHEMA: the service's own schema (default: its name)
	RedisURL        string        // REDIS_URL
	RedisPrefix     string        // REDIS_KEY_PREFIX: prefix of every key the service owns
	NATSURL         string        // NATS_URL
	StreamReplicas  int           // NATS_STREAM_REPLICAS: 1 locally, 3 on a cluster
	JWTSecret       string        // AUTH_JWT_SECRET: HS256 secret (>= 32 bytes)
	JWTPublicKey    string        // AUTH_JWT_PUBLIC_KEY_FILE: Ed25519 PEM; wins over the secret
	LogLevel        slog.Level    // LOG_LEVEL: debug | info | warn | error
	PprofAddr       string        // PPROF_ADDR: serve net/http/pprof here (e.g. 127.0.0.1:6060); off when empty
	StartupTimeout  time.Duration // STARTUP_TIMEOUT: how long to wait for stores at start
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: drain budget after SIGTERM
}

// LoadConfig reads the environment for service name (its schema and default port come from
// it). Every problem is reported at once.
func LoadConfig(name, defaultAddr string) (Config, error) {
	return loadConfig(name, defaultAddr, os.Getenv)
}

func loadConfig(name, defaultAddr string, getenv func(string) string) (Config, error) {
	e := env{get: getenv}
	c := Config{
		Env:             e.str("SCODA_ENV", "local"),
		HTTPAddr:        e.str("HTTP_ADDR", defaultAddr),
		DatabaseURL:     e.str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scoda?sslmode=disable"),
		DBSchema:        e.str("DB_SCHEMA", name),
		RedisURL:        e.str("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RedisPrefix:     e.str("REDIS_KEY_PREFIX", "scoda:"+name+":"),
		NATSURL:         e.str("NATS_URL", "nats://127.0.0.1:4222"),
		StreamReplicas:  e.int("NATS_STREAM_REPLICAS", 1),
		JWTSecret:       e.str("AUTH_JWT_SECRET", ""),
		JWTPublicKey:    e.str("AUTH_JWT_PUBLIC_KEY_FILE", ""),
		PprofAddr:       e.str("PPROF_ADDR", ""),
		StartupTimeout:  e.dur("STARTUP_TIMEOUT", 30*time.Second),
		ShutdownTimeout: e.dur("SHUTDOWN_TIMEOUT", 25*time.Second),
	}
	lvl, err := observability.ParseLevel(e.str("LOG_LEVEL", "info"))
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	c.LogLevel = lvl
	if !postgres.ValidSchema(c.DBSchema) {
		e.errs = append(e.errs, fmt.Errorf("DB_SCHEMA: %q is not a lowercase identifier", c.DBSchema))
	}
	if c.StreamReplicas < 1 || c.StreamReplicas > 5 {
		e.errs = append(e.errs, fmt.Errorf("NATS_STREAM_REPLICAS: %d is not between 1 and 5", c.StreamReplicas))
	}
	if c.JWTPublicKey == "" {
		switch {
		case c.JWTSecret == "" && c.Local():
			c.JWTSecret = auth.DevSecret
		case c.JWTSecret == "":
			e.errs = append(e.errs, errors.New("AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY_FILE is required outside local development"))
		case c.JWTSecret == auth.DevSecret && !c.Local():
			e.errs = append(e.errs, errors.New("AUTH_JWT_SECRET: the development secret is refused outside local development"))
		case len(c.JWTSecret) < 32:
			e.errs = append(e.errs, errors.New("AUTH_JWT_SECRET: must be at least 32 bytes"))
		}
	}
	return c, errors.Join(e.errs...)
}

// Duration reads a service-specific duration variable (e.g. TRACKING_FUTURE_HORIZON), with a
// default; a malformed value is an error naming the variable.
func Duration(key string, def time.Duration) (time.Duration, error) {
	e := env{get: os.Getenv}
	d := e.dur(key, def)
	return d, errors.Join(e.errs...)
}

// Local tells whether this is a developer's machine or a test run.
func (c Config) Local() bool { return c.Env == "local" || c.Env == "test" }

// verifierKey loads the token verification key the config names.
func (c Config) verifierKey() (auth.Key, error) {
	if c.JWTPublicKey != "" {
		pem, err := os.ReadFile(c.JWTPublicKey)
		if err != nil {
			return auth.Key{}, fmt.Errorf("AUTH_JWT_PUBLIC_KEY_FILE: %w", err)
		}
		return auth.Ed25519PublicKey(pem)
	}
	return auth.HMACKey([]byte(c.JWTSecret))
}

type env struct {
	get  func(string) string
	errs []error
}

func (e *env) str(key, def string) string {
	if v := e.get(key); v != "" {
		return v
	}
	return def
}

func (e *env) int(key string, def int) int {
	v := e.get(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a whole number", key, v))
		return def
	}
	return n
}

func (e *env) dur(key string, def time.Duration) time.Duration {
	v := e.get(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a positive duration like 30s", key, v))
		return def
	}
	return d
}
