package app

import (
	"strings"
	"testing"
	"time"

	"github.com/scodalabs/scoda/pkg/auth"
)

func TestLoadConfig(t *testing.T) {
	strong := strings.Repeat("s", 40)
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr []string
	}{
		{name: "local defaults", env: nil, check: func(t *testing.T, c Config) {
			if c.HTTPAddr != ":8081" || c.DBSchema != "tracking" || c.JWTSecret != auth.DevSecret || c.StreamReplicas != 1 ||
				c.ShutdownTimeout != 25*time.Second || !strings.Contains(c.DatabaseURL, "/scoda") {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "overrides", env: map[string]string{"HTTP_ADDR": "127.0.0.1:9000", "DB_SCHEMA": "tracking_blue", "NATS_STREAM_REPLICAS": "3", "SHUTDOWN_TIMEOUT": "40s", "LOG_LEVEL": "debug"},
			check: func(t *testing.T, c Config) {
				if c.HTTPAddr != "127.0.0.1:9000" || c.DBSchema != "tracking_blue" || c.StreamReplicas != 3 || c.ShutdownTimeout != 40*time.Second || c.LogLevel.String() != "DEBUG" {
					t.Errorf("overrides = %+v", c)
				}
			}},
		{name: "production needs a secret", env: map[string]string{"SCODA_ENV": "production"}, wantErr: []string{"AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY_FILE is required"}},
		{name: "production refuses the dev secret", env: map[string]string{"SCODA_ENV": "production", "AUTH_JWT_SECRET": auth.DevSecret}, wantErr: []string{"development secret is refused"}},
		{name: "production with a real secret", env: map[string]string{"SCODA_ENV": "production", "AUTH_JWT_SECRET": strong}, check: func(t *testing.T, c Config) {
			if c.JWTSecret != strong || c.Local() {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "every bad value is reported at once", env: map[string]string{
			"NATS_STREAM_REPLICAS": "three", "SHUTDOWN_TIMEOUT": "-1s", "LOG_LEVEL": "loud", "DB_SCHEMA": "Drop Table", "AUTH_JWT_SECRET": "short",
		}, wantErr: []string{"NATS_STREAM_REPLICAS", "SHUTDOWN_TIMEOUT", "LOG_LEVEL", "DB_SCHEMA", "at least 32 bytes"}},
		{name: "replicas out of range", env: map[string]string{"NATS_STREAM_REPLICAS": "7"}, wantErr: []string{"not between 1 and 5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig("tracking", ":8081", func(k string) string { return tc.env[k] })
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("want errors %v, got none", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
