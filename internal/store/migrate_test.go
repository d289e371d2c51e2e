package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

func TestMigrateFresh(t *testing.T) {
	t.Parallel()
	// storetest.Options gives an empty SQLite database (PostgreSQL ones come migrated).
	ctx := context.Background()
	s, err := store.Open(ctx, storetest.Options(t, store.SQLite))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	current, known, err := s.SchemaVersion(ctx)
	if err != nil || current != 0 || known < 1 {
		t.Fatalf("SchemaVersion of an empty database = %d, %d, %v; want 0, ≥1", current, known, err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatalf("first Migrate: %v", err)
	}
	// Numbers may have gaps (branches number their migrations apart), so the last one applied
	// is the newest known, not the count.
	if len(applied) == 0 || !strings.HasSuffix(applied[0], "00001_core.sql") ||
		!strings.HasPrefix(applied[len(applied)-1][strings.LastIndex(applied[len(applied)-1], "/")+1:], fmt.Sprintf("%05d_", known)) {
		t.Errorf("first Migrate applied %v, want every migration from 00001_core.sql to %05d", applied, known)
	}
	applied, err = s.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Errorf("second Migrate = %v, %v; want nothing applied", applied, err)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		current, known, err := s.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if current != known || known < 1 {
			t.Fatalf("SchemaVersion of a migrated database = %d, %d; want equal and ≥1", current, known)
		}
		mustInsertUser(t, s, newUser("survivor"))
		for i := range 2 {
			applied, err := s.Migrate(ctx)
			if err != nil || len(applied) != 0 {
				t.Errorf("Migrate #%d of a migrated database = %v, %v; want nothing applied", i+1, applied, err)
			}
		}
		if n := count(t, s, `SELECT count(*) FROM users`); n != 1 {
			t.Errorf("%d users after re-running migrations, want 1", n)
		}

		// A newer usher migrated this database further: this one must not touch it.
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, TRUE)`, known+1); err != nil {
			t.Fatalf("record a newer version: %v", err)
		}
		if current, _, err := s.SchemaVersion(ctx); err != nil || current != known+1 {
			t.Fatalf("SchemaVersion after the newer version = %d, %v; want %d", current, err, known+1)
		}
		_, err = s.Migrate(ctx)
		wantErr(t, err, errs.Unavailable, "store.schema_too_new", "")
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprint(known+1)) || !strings.Contains(msg, fmt.Sprint(known)) {
			t.Errorf("message %q does not name both versions", msg)
		}
		if n := count(t, s, `SELECT count(*) FROM users`); n != 1 {
			t.Errorf("%d users after the refused migration, want 1", n)
		}
	})
}
