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
		prepared := func(when string, reader int) int {
			t.Helper()
			r, w := s.PreparedStatements()
			if !sqlite {
				reader = 0 // pgx prepares and caches statements itself
			}
			if r != reader || !sqlite && w != 0 {
				t.Errorf("%s: %d statements prepared on the readers and %d on the writer, want %d on the readers", when, r, w, reader)
			}
			return w
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

		prepared("at first", 0)
		badge(ctx, "A-17")
		badge(ctx, "A-17")
		prepared("after two reads", 1) // UserDetail is one query

		// The first transaction to need a statement runs it unprepared; it is prepared on the
		// writer before the next one begins. Each sees its own uncommitted writes.
		change := func(v string, end error) int {
			t.Helper()
			err := s.InTx(ctx, func(ctx context.Context) error {
				setBadge(ctx, v)
				badge(ctx, v)
				return end
			})
			if err != end {
				t.Fatalf("InTx = %v, want %v", err, end)
			}
			return prepared("after a transaction", 1)
		}
		w1 := change("B-1", nil)
		errRollback := errors.New("roll back")
		w2 := change("C-2", errRollback)
		if sqlite && w2 < w1+3 { // what the first ran: User, UpdateUser, UserDetail
			t.Errorf("the second transaction found %d statements prepared, the first %d: want 3 more", w2, w1)
		}
		badge(ctx, "B-1")
		if w3 := change("B-1", nil); w3 != w2 {
			t.Errorf("the same transaction again prepared %d statements more", w3-w2)
		}
		badge(ctx, "B-1")
	})
}
