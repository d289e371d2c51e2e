package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestCursorKey: every list's cursors are sealed with the store's cursor key. A cursor works
// under the key that made it (after a restart or on another replica with the same secret key),
// and not under another one; a cursor of one list does not work on another.
func TestCursorKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		for i, name := range []string{"ada", "bob", "cyd"} {
			mustInsertUser(t, s, newUser(name))
			mustInsertGroup(t, s, "Team "+name)
			if err := s.AppendAudit(ctx, audit.Event{Action: "user.create", Outcome: audit.Success, RequestID: name}); err != nil {
				t.Fatal(err)
			}
			if err := s.InsertOutbox(ctx, &mail.Entry{ID: uuid.Must(uuid.NewV7()).String(), Kind: mail.KindTest,
				To: name + "@example.org", Subject: "Test", Body: "b", CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		// page reads one item of a list from cursor and returns what it shows and the next cursor.
		lists := []struct {
			name string
			page func(cursor string) (string, string, error)
		}{
			{"users", func(c string) (string, string, error) {
				us, next, err := s.ListUsers(ctx, user.Filter{Sort: "-created_at", Limit: 1, Cursor: c})
				if err != nil || len(us) == 0 {
					return "", next, err
				}
				return us[0].Username, next, err
			}},
			{"users searched", func(c string) (string, string, error) {
				us, next, err := s.ListUsers(ctx, user.Filter{Q: "tester", Limit: 1, Cursor: c})
				if err != nil || len(us) == 0 {
					return "", next, err
				}
				return us[0].Username, next, err
			}},
			{"groups", func(c string) (string, string, error) {
				gs, next, err := s.ListGroups(ctx, user.GroupFilter{Limit: 1, Cursor: c})
				if err != nil || len(gs) == 0 {
					return "", next, err
				}
				return gs[0].Name, next, err
			}},
			{"audit", func(c string) (string, string, error) {
				es, next, err := s.AuditEvents(ctx, audit.Filter{Limit: 1, Cursor: c})
				if err != nil || len(es) == 0 {
					return "", next, err
				}
				return es[0].RequestID, next, err
			}},
			{"outbox", func(c string) (string, string, error) {
				es, next, err := s.Outbox(ctx, mail.Filter{Limit: 1, Cursor: c})
				if err != nil || len(es) == 0 {
					return "", next, err
				}
				return es[0].To, next, err
			}},
		}
		key1, key2 := bytes.Repeat([]byte{1}, store.CursorKeySize), bytes.Repeat([]byte{2}, store.CursorKeySize)
		nexts := make([]string, len(lists))
		for i, l := range lists {
			s.SetCursorKey(key1)
			first, next, err := l.page("")
			if err != nil || next == "" {
				t.Fatalf("%s: first page: next %q, %v", l.name, next, err)
			}
			nexts[i] = next
			second, _, err := l.page(next)
			if err != nil || second == "" || second == first {
				t.Fatalf("%s: second page shows %q after %q, %v", l.name, second, first, err)
			}
			s.SetCursorKey(key2) // a restart with another secret key, or a replica that has another
			_, _, err = l.page(next)
			wantErr(t, err, errs.Invalid, "filter.cursor_invalid", "cursor")
			s.SetCursorKey(key1) // the same key again
			if again, _, err := l.page(next); err != nil || again != second {
				t.Fatalf("%s: with the key that made it, the cursor shows %q, want %q (%v)", l.name, again, second, err)
			}
		}
		for i, l := range lists {
			other := nexts[(i+2)%len(nexts)]
			_, _, err := l.page(other)
			if e, ok := errs.As(err); !ok || e.Code != "filter.cursor_invalid" {
				t.Errorf("%s: the cursor of %s: %v, want filter.cursor_invalid", l.name, lists[(i+2)%len(lists)].name, err)
			}
		}
	})
}
