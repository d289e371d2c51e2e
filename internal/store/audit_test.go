package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// auditLog appends a varied log and returns it in append order; RequestID is "req-<index>".
func auditLog(t *testing.T, s *store.Store) []audit.Event {
	t.Helper()
	actors := []string{"alice", "bob", ""}
	actions := []string{"user.create", "user.update", "users.bulk", "auth.login", "auth.login_failed", "user.lock", "role.create"}
	var log []audit.Event
	err := s.InTx(context.Background(), func(ctx context.Context) error {
		for i := range 60 {
			e := audit.Event{
				Time:       t0.Add(time.Duration(i) * time.Minute).Add(time.Duration(i%3) * time.Microsecond),
				ActorID:    actors[i%len(actors)],
				ActorName:  strings.ToUpper(actors[i%len(actors)]),
				Action:     actions[i%len(actions)],
				TargetType: []string{"user", "user", "group"}[i%3],
				TargetID:   fmt.Sprint("target-", i%4),
				TargetName: fmt.Sprint("Target ", i%4),
				Outcome:    audit.Success,
				RequestID:  fmt.Sprint("req-", i),
				ClientIP:   "198.51.100.9",
			}
			if i%5 == 0 {
				e.Outcome = audit.Failure
			}
			if i%2 == 0 {
				e.Details = map[string]any{"fields": []any{"email", "phone"}, "count": float64(i), "nested": map[string]any{"ok": true}}
			}
			if err := s.AppendAudit(ctx, e); err != nil {
				return err
			}
			log = append(log, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return log
}

func TestAuditEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		log := auditLog(t, s)
		byReq := map[string]audit.Event{}
		for _, e := range log {
			byReq[e.RequestID] = e
		}
		tests := []struct {
			name string
			f    audit.Filter
			keep func(e audit.Event) bool
			min  int
		}{
			{"everything", audit.Filter{}, func(audit.Event) bool { return true }, 60},
			{"actor", audit.Filter{ActorID: "alice"}, func(e audit.Event) bool { return e.ActorID == "alice" }, 20},
			{"target", audit.Filter{TargetID: "target-1"}, func(e audit.Event) bool { return e.TargetID == "target-1" }, 15},
			{"target type", audit.Filter{TargetType: "group"}, func(e audit.Event) bool { return e.TargetType == "group" }, 20},
			{"target and its type", audit.Filter{TargetID: "target-1", TargetType: "user"},
				func(e audit.Event) bool { return e.TargetID == "target-1" && e.TargetType == "user" }, 10},
			{"exact action", audit.Filter{Action: "auth.login"}, func(e audit.Event) bool { return e.Action == "auth.login" }, 8},
			{"action prefix user.", audit.Filter{Action: "user."}, func(e audit.Event) bool { return strings.HasPrefix(e.Action, "user.") }, 20},
			{"action prefix auth.", audit.Filter{Action: "auth."}, func(e audit.Event) bool { return strings.HasPrefix(e.Action, "auth.") }, 15},
			{"action prefix matching nothing", audit.Filter{Action: "group."}, func(audit.Event) bool { return false }, 0},
			{"outcome", audit.Filter{Outcome: audit.Failure}, func(e audit.Event) bool { return e.Outcome == audit.Failure }, 12},
			{"from, inclusive", audit.Filter{From: log[40].Time}, func(e audit.Event) bool { return !e.Time.Before(log[40].Time) }, 20},
			{"to, exclusive", audit.Filter{To: log[10].Time}, func(e audit.Event) bool { return e.Time.Before(log[10].Time) }, 10},
			{"from and to in another time zone", audit.Filter{From: log[15].Time.In(time.FixedZone("X", -5*3600)), To: log[25].Time.In(time.FixedZone("Y", 9*3600))},
				func(e audit.Event) bool { return !e.Time.Before(log[15].Time) && e.Time.Before(log[25].Time) }, 10},
			{"actor, prefix and outcome", audit.Filter{ActorID: "bob", Action: "user.", Outcome: audit.Success},
				func(e audit.Event) bool {
					return e.ActorID == "bob" && strings.HasPrefix(e.Action, "user.") && e.Outcome == audit.Success
				}, 3},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var want []string
				for i := len(log) - 1; i >= 0; i-- {
					if tc.keep(log[i]) {
						want = append(want, log[i].RequestID)
					}
				}
				if len(want) < tc.min {
					t.Fatalf("fixture: %d events match, want at least %d", len(want), tc.min)
				}
				for _, limit := range []int{4, 7, 1000} {
					f := tc.f
					f.Limit = limit
					var got []string
					for pages := 0; ; pages++ {
						if pages > len(log) {
							t.Fatal("paging does not end")
						}
						events, next, err := s.AuditEvents(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if len(events) > limit {
							t.Fatalf("%d events, limit %d", len(events), limit)
						}
						for i, e := range events {
							got = append(got, e.RequestID)
							if i > 0 && e.ID >= events[i-1].ID {
								t.Fatalf("events not newest first: id %d after %d", e.ID, events[i-1].ID)
							}
							checkEvent(t, e, byReq[e.RequestID])
						}
						if next == "" {
							break
						}
						if len(events) != limit {
							t.Fatalf("a page of %d events with a next one, limit %d", len(events), limit)
						}
						f.Cursor = next
					}
					if !slices.Equal(got, want) {
						t.Errorf("limit %d: got %v\nwant %v", limit, got, want)
					}
				}
			})
		}
	})
}

func checkEvent(t *testing.T, got, want audit.Event) {
	t.Helper()
	if got.ActorID != want.ActorID || got.ActorName != want.ActorName || got.Action != want.Action ||
		got.TargetType != want.TargetType || got.TargetID != want.TargetID || got.TargetName != want.TargetName ||
		got.Outcome != want.Outcome || got.ClientIP != want.ClientIP || got.ID == 0 {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		t.Errorf("event %s time = %v, want %v in UTC", got.RequestID, got.Time, want.Time)
	}
	if len(want.Details) == 0 && len(got.Details) != 0 || len(want.Details) > 0 && !reflect.DeepEqual(got.Details, want.Details) {
		t.Errorf("event %s details = %#v, want %#v", got.RequestID, got.Details, want.Details)
	}
}

func TestAuditInTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		boom := errors.New("boom")
		err := s.InTx(ctx, func(ctx context.Context) error {
			if err := s.AppendAudit(ctx, audit.Event{Action: "user.create", Outcome: audit.Success, RequestID: "rolled-back"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		before := time.Now()
		if err := s.InTx(ctx, func(ctx context.Context) error {
			return s.AppendAudit(ctx, audit.Event{Action: "user.create", Outcome: audit.Success, RequestID: "committed"})
		}); err != nil {
			t.Fatal(err)
		}
		events, _, err := s.AuditEvents(ctx, audit.Filter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].RequestID != "committed" {
			t.Fatalf("events = %+v, want only the committed one", events)
		}
		// An event without a time gets the store's clock.
		if at := events[0].Time; at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("time of an event appended without one = %v, want about %v", at, before)
		}
	})
}

func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		auditLog(t, s)
		statements := []string{
			`UPDATE audit_events SET action = 'user.nothing'`,
			`UPDATE audit_events SET outcome = 'success' WHERE id = (SELECT min(id) FROM audit_events)`,
			`DELETE FROM audit_events`,
			`DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)`,
		}
		if s.Dialect == store.Postgres {
			statements = append(statements, `TRUNCATE audit_events`)
		}
		for _, q := range statements {
			if _, err := s.DB().ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: error = %v, want the append-only refusal", q, err)
			}
		}
		// Nothing changed.
		events, _, err := s.AuditEvents(ctx, audit.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 60 {
			t.Errorf("%d events left, want 60", len(events))
		}
		for _, e := range events {
			if e.Action == "user.nothing" {
				t.Fatalf("event %d was changed", e.ID)
			}
		}
	})
}
