// Package storetest gives tests a migrated database: SQLite in a temporary directory always, and
// PostgreSQL whenever USHER_TEST_POSTGRES_URL names a server. Each PostgreSQL test gets its own
// database, cloned from a migrated template shared by every test binary of the same schema, and
// dropped when it ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/usherhq/usher/internal/store"
)

// EnvPostgres names the environment variable with the URL of a PostgreSQL server for tests.
const EnvPostgres = "USHER_TEST_POSTGRES_URL"

// Dialects returns the databases tests should run on. Without a PostgreSQL URL it skips
// PostgreSQL, except under CI=true where a missing component fails the test.
func Dialects(t testing.TB) []store.Dialect {
	t.Helper()
	ds := []store.Dialect{store.SQLite}
	if os.Getenv(EnvPostgres) != "" {
		return append(ds, store.Postgres)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: CI must run every store test on PostgreSQL too (use `make test`)", EnvPostgres)
	}
	return ds
}

// Each runs fn once per database as a subtest named after the dialect, with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated store on dialect, closed (and for PostgreSQL, dropped) when the
// test ends.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	opts := Options(t, d)
	ctx := context.Background()
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", d, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", d, err)
	}
	return s
}

// Options returns the store options of a fresh, empty database on dialect (migrated only when it
// is PostgreSQL, whose databases are cloned from a migrated template). The database is removed
// when the test ends.
func Options(t testing.TB, d store.Dialect) store.Options {
	t.Helper()
	if d == store.SQLite {
		return store.Options{DataDir: t.TempDir()}
	}
	return store.Options{DatabaseURL: NewPostgresDatabase(t)}
}

var template struct {
	once sync.Once
	name string
	err  error
}

// NewPostgresDatabase creates a uniquely named, migrated database on the test server and returns
// its URL; it is dropped when the test ends.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Fatalf("storetest: %s is not set", EnvPostgres)
	}
	ctx := context.Background()
	template.once.Do(func() { template.name, template.err = migratedTemplate(ctx, base) })
	if template.err != nil {
		t.Fatalf("storetest: template database: %v", template.err)
	}
	name := "usher_test_" + randomSuffix()
	if err := admin(ctx, base, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template.name)); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(context.Background(), base, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

// templateLock is the advisory lock key under which test binaries create the shared template.
const templateLock = 0x75736865725f7470 // "usher_tp"

// migratedTemplate returns the name of a migrated database with no connections, to be cloned.
// Its name carries the digest of the migrations, so every test binary of the same schema shares
// it, in this run and the next: on a server of your own, test runs leave one template per schema
// rather than one per test binary. A template only gets that name once fully migrated.
func migratedTemplate(ctx context.Context, base string) (string, error) {
	digest, err := store.MigrationsDigest(store.Postgres)
	if err != nil {
		return "", err
	}
	name := "usher_tpl_" + digest[:20]
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx) // also releases the advisory lock
	// Test binaries of several packages start at once: one builds the template, the others wait.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(templateLock)); err != nil {
		return "", err
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil { // left by a killed run
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	if err := migrate(ctx, withDatabase(base, building)); err != nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", err
	}
	return name, nil
}

func migrate(ctx context.Context, dbURL string) error {
	s, err := store.Open(ctx, store.Options{DatabaseURL: dbURL})
	if err != nil {
		return err
	}
	defer s.Close()
	_, err = s.Migrate(ctx)
	return err
}

func admin(ctx context.Context, base, stmt string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
