package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// The hot statements are prepared once on SQLite (on the reader pool, and on the writer for
// transactions), read what their transaction wrote, and are left to pgx on PostgreSQL.
func TestPreparedStatements(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newGrantFixture(t, s)
		sqlite := s.Dialect == store.SQLite
		prepared := func(when string, reader, writer int) {
			t.Helper()
			if !sqlite {
				reader, writer = 0, 0 // pgx prepares and caches statements itself
			}
			if r, w := s.PreparedStatements(); r != reader || w != writer {
				t.Errorf("%s: %d statements prepared on the readers and %d on the writer, want %d and %d",
					when, r, w, reader, writer)
			}
		}
		badge := func(ctx context.Context, want string) {
			t.Helper()
			d, err := s.UserDetail(ctx, f.alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Custom["badge"] != want || len(d.Roles) != 3 || len(d.Groups) != 3 {
				t.Errorf("UserDetail: badge %q, %d roles, %d groups; want %q, 3 and 3", d.Custom["badge"],
					len(d.Roles), len(d.Groups), want)
			}
		}
		setBadge := func(ctx context.Context, v string) {
			t.Helper()
			u, err := s.User(ctx, f.alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			prev := u.Version
			u.Custom["badge"], u.Version = v, prev+1
			if err := s.UpdateUser(ctx, u, prev); err != nil {
				t.Fatal(err)
			}
		}

		prepared("at first", 0, 0)
		badge(ctx, "A-17")
		badge(ctx, "A-17")
		prepared("after two reads", 1, 0) // UserDetail is one query

		// The first transaction to need them runs them unprepared, the next one prepared on the
		// writer; both see their own uncommitted writes.
		err := s.InTx(ctx, func(ctx context.Context) error {
			setBadge(ctx, "B-1")
			badge(ctx, "B-1")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		prepared("after a transaction", 1, 0)
		errRollback := errors.New("roll back")
		err = s.InTx(ctx, func(ctx context.Context) error {
			setBadge(ctx, "C-2")
			badge(ctx, "C-2")
			return errRollback
		})
		if err != errRollback {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		prepared("after a second transaction", 1, 1) // UserDetail
		badge(ctx, "B-1")
		err = s.InTx(ctx, func(ctx context.Context) error {
			badge(ctx, "B-1")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		prepared("at the end", 1, 1)
	})
}
