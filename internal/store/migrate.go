package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/usherhq/usher/internal/errs"
)

//go:embed migrations
var migrations embed.FS

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.Dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, s.write, sub, opts...)
}

// SchemaVersion returns the version the database is at and the newest this binary knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, known int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		known = srcs[len(srcs)-1].Version
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, known, fmt.Errorf("store: read schema version: %w", err)
	}
	return current, known, nil
}

// Migrate brings the schema up to date. It refuses a database whose schema is newer than this
// binary: running an old binary on it could lose data. It returns the migrations applied. Then it
// fills in what SQL cannot compute (see fillIdentities).
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	current, known, err := s.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if current > known {
		return nil, errs.E(errs.Unavailable, "store.schema_too_new", fmt.Sprintf(
			"The database schema is at version %d but this usher only knows up to %d: it was used by a newer usher. Run that version or newer.", current, known))
	}
	p, err := s.provider()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	if err := s.fillIdentities(ctx); err != nil {
		return nil, err
	}
	var applied []string
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}
