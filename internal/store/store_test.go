package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func TestSQLiteLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	first, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	mustInsertUser(t, first, newUser("kept"))

	for i := range 2 {
		second, err := store.Open(ctx, store.Options{DataDir: dir})
		if err == nil {
			second.Close()
			t.Fatalf("attempt %d: a second store opened the locked data directory", i+1)
		}
		wantErr(t, err, errs.Unavailable, "store.locked", "")
		if !strings.Contains(err.Error(), dir) {
			t.Errorf("message %q does not name the directory %s", err, dir)
		}
	}
	// Another directory is not affected.
	other, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open another directory: %v", err)
	}
	other.Close()
	// The refused opens did not disturb the first store.
	if _, err := first.UserByLogin(ctx, "kept"); err != nil {
		t.Errorf("first store after refused opens: %v", err)
	}

	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	again, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("open after Close: %v", err)
	}
	defer again.Close()
	if _, err := again.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if u, err := again.UserByLogin(ctx, "kept"); err != nil || u.Username != "kept" {
		t.Errorf("data after reopening = %v, %v", u, err)
	}
}

func TestInTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		boom := errors.New("boom")
		exists := func(name string) bool {
			t.Helper()
			_, err := s.UserByLogin(ctx, name)
			if err != nil && !errs.Is(errs.NotFound, err) {
				t.Fatal(err)
			}
			return err == nil
		}
		tests := []struct {
			name    string
			fn      func(ctx context.Context) error
			wantErr error
			kept    []string
			gone    []string
		}{
			{"commit", func(ctx context.Context) error {
				if err := s.InsertUser(ctx, newUser("c1")); err != nil {
					return err
				}
				// A read inside the transaction sees its own write.
				if _, err := s.UserByLogin(ctx, "c1"); err != nil {
					return fmt.Errorf("read own write: %w", err)
				}
				return nil
			}, nil, []string{"c1"}, nil},
			{"error rolls back", func(ctx context.Context) error {
				if err := s.InsertUser(ctx, newUser("r1")); err != nil {
					return err
				}
				return boom
			}, boom, nil, []string{"r1"}},
			{"a nested call joins the outer transaction", func(ctx context.Context) error {
				if err := s.InTx(ctx, func(ctx context.Context) error { return s.InsertUser(ctx, newUser("n1")) }); err != nil {
					return err
				}
				return boom
			}, boom, nil, []string{"n1"}},
			{"a failed write rolls back the earlier ones", func(ctx context.Context) error {
				if err := s.InsertUser(ctx, newUser("f1")); err != nil {
					return err
				}
				dup := newUser("f2")
				dup.Email = "C1@example.org"
				return s.InsertUser(ctx, dup)
			}, errs.E(errs.Conflict, "user.email_taken", ""), nil, []string{"f1", "f2"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := s.InTx(ctx, tc.fn)
				var want *errs.Error
				switch {
				case tc.wantErr == nil && err != nil:
					t.Fatalf("InTx: %v", err)
				case errors.As(tc.wantErr, &want):
					wantErr(t, err, want.Kind, want.Code, "")
				case !errors.Is(err, tc.wantErr):
					t.Fatalf("InTx = %v, want %v", err, tc.wantErr)
				}
				for _, n := range tc.kept {
					if !exists(n) {
						t.Errorf("%s is missing", n)
					}
				}
				for _, n := range tc.gone {
					if exists(n) {
						t.Errorf("%s was kept", n)
					}
				}
			})
		}

		// Concurrent transactions queue rather than fail (SQLite has one writer).
		var wg sync.WaitGroup
		errc := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				errc <- s.InTx(ctx, func(ctx context.Context) error {
					if _, err := s.CountUsers(ctx); err != nil {
						return err
					}
					u := newUser(fmt.Sprint("par", i))
					if err := s.InsertUser(ctx, u); err != nil {
						return err
					}
					return s.SetUserRoles(ctx, u.ID, nil)
				})
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Errorf("concurrent InTx: %v", err)
			}
		}
		c, err := s.CountUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Total != 21 {
			t.Errorf("%d users after 20 concurrent inserts and c1, want 21", c.Total)
		}
	})
}

// The store satisfies the domain's persistence interfaces.
var (
	_ user.Store           = (*store.Store)(nil)
	_ auth.InvitationStore = (*store.Store)(nil)
)
