// Package postgres connects services to PostgreSQL and runs their migrations.
//
// Each service owns one schema. Its pool sets search_path to that schema, and its migrations
// (embedded in the binary) run inside it with their own migrations table, so services never
// see each other's tables and tests can run a whole service in a throw-away schema.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/exaring/otelpgx"
	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/scodalabs/scoda/pkg/health"
)

// MigrationsTable is the name of the migrations table inside each service schema.
const MigrationsTable = "schema_migrations"

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidSchema reports whether s is a schema name we accept (lowercase identifier, no quoting
// needed), which keeps it safe to splice into DDL.
func ValidSchema(s string) bool { return schemaName.MatchString(s) }

// Connect opens a pool to dsn whose connections use schema as search_path, traced with
// otelpgx, and waits (bounded by ctx) until the database answers.
func Connect(ctx context.Context, dsn, schema string) (*pgxpool.Pool, error) {
	cfg, err := poolConfig(dsn, schema)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := health.WaitReady(ctx, pool.Ping); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: not reachable: %w", err)
	}
	return pool, nil
}

func poolConfig(dsn, schema string) (*pgxpool.Config, error) {
	if !ValidSchema(schema) {
		return nil, fmt.Errorf("postgres: invalid schema name %q", schema)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.Tracer = otelpgx.NewTracer()
	return cfg, nil
}

// Migrator runs one service's embedded migrations in its schema.
type Migrator struct {
	m  *migrate.Migrate
	db *sql.DB
}

// NewMigrator creates the schema if needed and prepares its migrations from migrations (a
// directory of NNNNNN_name.up.sql / .down.sql files at its root).
func NewMigrator(ctx context.Context, dsn, schema string, migrations fs.FS) (*Migrator, error) {
	cfg, err := poolConfig(dsn, schema)
	if err != nil {
		return nil, err
	}
	connCfg := cfg.ConnConfig.Copy()
	connCfg.Tracer = nil
	db := stdlib.OpenDB(*connCfg)
	if err := health.WaitReady(ctx, db.PingContext); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: not reachable: %w", err)
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: create schema %s: %w", schema, err)
	}
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{SchemaName: schema, MigrationsTable: MigrationsTable})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: migrate driver: %w", err)
	}
	src, err := iofs.New(migrations, ".")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: migrations source: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return &Migrator{m: m, db: db}, nil
}

// Up applies every pending migration. Nothing to do is success.
func (m *Migrator) Up() error { return ignoreNoChange(m.m.Up()) }

// Down reverts every migration.
func (m *Migrator) Down() error { return ignoreNoChange(m.m.Down()) }

// Version is the applied version and whether a failed migration left the schema dirty.
func (m *Migrator) Version() (version uint, dirty bool, err error) {
	v, d, err := m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, d, err
}

// Close releases the migrator's connection.
func (m *Migrator) Close() error {
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr)
}

func ignoreNoChange(err error) error {
	if errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	return err
}

// Migrate brings schema up to date: what a service does at start and `make migrate` does.
func Migrate(ctx context.Context, dsn, schema string, migrations fs.FS) (err error) {
	m, err := NewMigrator(ctx, dsn, schema, migrations)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, m.Close()) }()
	if err := m.Up(); err != nil {
		return fmt.Errorf("postgres: migrate %s up: %w", schema, err)
	}
	return nil
}

// DB is what a store needs of a pool or a transaction, so the same store code runs on either
// (*pgxpool.Pool and pgx.Tx both satisfy it).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

var (
	_ DB = (*pgxpool.Pool)(nil)
	_ DB = (pgx.Tx)(nil)
)
