package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		u := mustInsertUser(t, s, newUser("mailed"))
		at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		var ids []string
		for i := range 5 {
			e := &mail.Entry{ID: uuid.Must(uuid.NewV7()).String(), Kind: mail.KindPasswordReset, To: fmt.Sprintf("m%d@example.org", i),
				Subject: "Reset", Body: "v1:k:sealed", CreatedAt: at.Add(time.Duration(i) * time.Second)}
			if i%2 == 0 {
				e.UserID = u.ID
			}
			if i == 4 {
				e.Kind = mail.KindTest
			}
			if err := s.InsertOutbox(ctx, e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		e, err := s.OutboxEntry(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != mail.Queued || e.Attempts != 0 || e.UserID != u.ID || e.Body != "v1:k:sealed" || !e.CreatedAt.Equal(at) ||
			!e.UpdatedAt.Equal(at) || e.SentAt != nil || e.To != "m0@example.org" {
			t.Fatalf("read back %+v", e)
		}
		_, err = s.OutboxEntry(ctx, uuid.NewString())
		if !errs.Is(errs.NotFound, err) {
			t.Fatalf("missing entry: %v", err)
		}

		// a failed attempt keeps the body; a sent one drops it
		if err := s.RecordOutboxAttempt(ctx, ids[1], mail.Attempt{Number: 1, Status: mail.Queued, Error: "dial: refused", At: at.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordOutboxAttempt(ctx, ids[2], mail.Attempt{Number: 2, Status: mail.Sent, At: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordOutboxAttempt(ctx, ids[3], mail.Attempt{Number: 10, Status: mail.Failed, Error: "535", At: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordOutboxAttempt(ctx, uuid.NewString(), mail.Attempt{Number: 1, Status: mail.Sent, At: at}); !errs.Is(errs.NotFound, err) {
			t.Fatalf("attempt on a missing entry: %v", err)
		}
		e1, _ := s.OutboxEntry(ctx, ids[1])
		if e1.Status != mail.Queued || e1.Attempts != 1 || e1.LastError != "dial: refused" || e1.Body == "" || !e1.UpdatedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("after a failed attempt: %+v", e1)
		}
		e2, _ := s.OutboxEntry(ctx, ids[2])
		if e2.Status != mail.Sent || e2.Attempts != 2 || e2.Body != "" || e2.SentAt == nil || !e2.SentAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("after sending: %+v", e2)
		}

		page := func(f mail.Filter) ([]string, string) {
			t.Helper()
			es, next, err := s.Outbox(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out, next
		}
		list := func(f mail.Filter) []string {
			t.Helper()
			ids, _ := page(f)
			return ids
		}
		same := func(name string, got []string, want ...string) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
		same("all, newest first", list(mail.Filter{}), ids[4], ids[3], ids[2], ids[1], ids[0])
		same("queued", list(mail.Filter{Status: mail.Queued}), ids[4], ids[1], ids[0])
		same("failed", list(mail.Filter{Status: mail.Failed}), ids[3])
		same("by user", list(mail.Filter{UserID: u.ID}), ids[4], ids[2], ids[0])
		same("by kind", list(mail.Filter{Kind: mail.KindTest}), ids[4])
		got, next := page(mail.Filter{Limit: 2})
		same("page 1", got, ids[4], ids[3])
		got, next = page(mail.Filter{Limit: 2, Cursor: next})
		same("page 2", got, ids[2], ids[1])
		got, next = page(mail.Filter{Limit: 2, Cursor: next})
		same("page 3", got, ids[0])
		if next != "" {
			t.Errorf("the last page has a next cursor %q", next)
		}
		_, _, err = s.Outbox(ctx, mail.Filter{Limit: 2, Cursor: ids[3]})
		wantErr(t, err, errs.Invalid, "filter.cursor_invalid", "cursor")
		same("user and status", list(mail.Filter{UserID: u.ID, Status: mail.Queued}), ids[4], ids[0])

		// deleting the user keeps the messages, without the reference
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		e0, err := s.OutboxEntry(ctx, ids[0])
		if err != nil || e0.UserID != "" {
			t.Fatalf("after deleting the user: %+v, %v", e0, err)
		}
	})
}

// TestOutboxRollsBackWithTx: an entry written in a transaction that fails is not there.
func TestOutboxRollsBackWithTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		id := uuid.Must(uuid.NewV7()).String()
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.InsertOutbox(ctx, &mail.Entry{ID: id, Kind: mail.KindTest, To: "a@example.org", Subject: "x", Body: "b"}); err != nil {
				return err
			}
			if _, err := s.OutboxEntry(ctx, id); err != nil {
				t.Errorf("the entry is not visible inside its transaction: %v", err)
			}
			return fmt.Errorf("fail")
		})
		if err == nil {
			t.Fatal("want the error")
		}
		if _, err := s.OutboxEntry(ctx, id); !errs.Is(errs.NotFound, err) {
			t.Fatalf("after rollback: %v", err)
		}
	})
}
