package store_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// A user's row repeats their direct roles, groups and custom values for lists. Every store
// method that changes user_roles, group_members or user_field_values keeps the copies equal to
// the tables, in its own transaction: after each step, lists, User and UserDetail show what the
// tables hold.
func TestUserListsFollowTables(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newGrantFixture(t, s)
		mustInsertField(t, s, "desk", user.TextField)
		carol := mustInsertUser(t, s, newUser("carol"))
		setCustom := func(ctx context.Context, u *user.User, values map[string]string) error {
			return setCustomValues(ctx, s, u.ID, values)
		}
		dave, erin := newUser("dave"), newUser("erin")
		dave.Custom = map[string]string{"desk": "D-4"}
		errUndo := errors.New("undo")

		steps := []struct {
			name string
			do   func() error
		}{
			{"the fixture", func() error { return nil }},
			{"custom values changed", func() error {
				return setCustom(ctx, f.alice, map[string]string{"badge": "A-18", "desk": `north "wing" <3> & Zoë ✓ \ \u2028`})
			}},
			{"custom values of a user who had none", func() error { return setCustom(ctx, f.bob, map[string]string{"floor": "2"}) }},
			{"members added", func() error { return s.AddGroupMembers(ctx, f.gamma.ID, []string{f.bob.ID, carol.ID}) }},
			{"a member removed", func() error { return s.RemoveGroupMembers(ctx, f.beta.ID, []string{f.alice.ID}) }},
			{"users inserted at once", func() error { return s.InsertUsers(ctx, []*user.User{dave, erin}, f.zeta.ID, f.mid.ID) }},
			{"memberships added at once", func() error {
				return s.AddGroupMembersBulk(ctx, []store.Membership{{GroupID: f.team.ID, UserID: dave.ID},
					{GroupID: f.beta.ID, UserID: dave.ID}, {GroupID: f.beta.ID, UserID: f.bob.ID}})
			}},
			{"roles set", func() error { return s.SetUserRoles(ctx, f.bob.ID, []string{f.alpha.ID, f.mid.ID}) }},
			{"roles cleared", func() error { return s.SetUserRoles(ctx, f.alice.ID, nil) }},
			{"groups set", func() error { return s.SetUserGroups(ctx, erin.ID, []string{f.beta.ID, f.gamma.ID}) }},
			{"changes rolled back", func() error {
				err := s.InTx(ctx, func(ctx context.Context) error {
					if err := s.AddGroupMembers(ctx, f.team.ID, []string{carol.ID}); err != nil {
						return err
					}
					if err := s.SetUserRoles(ctx, carol.ID, []string{f.zeta.ID}); err != nil {
						return err
					}
					if err := setCustom(ctx, carol, map[string]string{"desk": "gone"}); err != nil {
						return err
					}
					return errUndo
				})
				if err != errUndo {
					return fmt.Errorf("InTx = %v, want the rollback", err)
				}
				return nil
			}},
			// Lists keep the roles and groups in memory until one of them changes.
			{"a group renamed", func() error {
				g := *f.gamma
				g.Name, g.Version = "Omega", f.gamma.Version+1
				return s.UpdateGroup(ctx, &g, f.gamma.Version)
			}},
			{"a role renamed", func() error {
				r := *f.zeta
				r.Name, r.Version = "Aardvark", f.zeta.Version+1
				return s.UpdateRole(ctx, &r, f.zeta.Version)
			}},
			{"a group's roles changed", func() error { return s.SetGroupRoles(ctx, f.team.ID, []string{f.zeta.ID, f.mid.ID}) }},
			{"a group added and joined", func() error {
				g := mustInsertGroup(t, s, "delta")
				return s.AddGroupMembers(ctx, g.ID, []string{carol.ID})
			}},
			{"a role deleted", func() error { return s.DeleteRole(ctx, f.mid.ID) }},
			{"a group deleted", func() error { return s.DeleteGroup(ctx, f.beta.ID) }},
			{"a field deleted", func() error { return s.DeleteField(ctx, "badge") }},
			{"a user deleted", func() error { return s.DeleteUser(ctx, f.alice.ID) }},
		}
		for _, step := range steps {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			checkUserLists(t, s, step.name)
		}
	})
}

// Changes to the same user at the same moment wait for each other: each copy ends up as the
// tables are, whichever commits first (on PostgreSQL a statement that waited for a row reads what
// was committed before it began; see lockUsers).
func TestUserListsConcurrentChanges(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newGrantFixture(t, s)
		mustInsertField(t, s, "desk", user.TextField)
		una := mustInsertUser(t, s, newUser("una"))
		setCustom := func(ctx context.Context, values map[string]string) error {
			return setCustomValues(ctx, s, una.ID, values)
		}
		// first runs in a transaction that stays open until second has started and had time to
		// reach its wait; then both must have done their work.
		race := func(name string, first, second func(ctx context.Context) error) {
			t.Helper()
			started, release := make(chan struct{}), make(chan struct{})
			firstDone, secondDone := make(chan error, 1), make(chan error, 1)
			go func() {
				firstDone <- s.InTx(ctx, func(ctx context.Context) error {
					if err := first(ctx); err != nil {
						return err
					}
					close(started)
					<-release
					return nil
				})
			}()
			select {
			case <-started:
			case err := <-firstDone:
				t.Fatalf("%s: first change: %v", name, err)
			}
			go func() { secondDone <- second(ctx) }()
			time.Sleep(200 * time.Millisecond)
			close(release)
			if err := <-firstDone; err != nil {
				t.Fatalf("%s: first change: %v", name, err)
			}
			if err := <-secondDone; err != nil {
				t.Fatalf("%s: second change: %v", name, err)
			}
			checkUserLists(t, s, name)
		}
		race("two groups joined at once",
			func(ctx context.Context) error { return s.AddGroupMembers(ctx, f.beta.ID, []string{una.ID}) },
			func(ctx context.Context) error { return s.AddGroupMembers(ctx, f.gamma.ID, []string{una.ID}) })
		race("joined one group while leaving another",
			func(ctx context.Context) error {
				return s.AddGroupMembersBulk(ctx, []store.Membership{{GroupID: f.team.ID, UserID: una.ID}})
			},
			func(ctx context.Context) error { return s.RemoveGroupMembers(ctx, f.beta.ID, []string{una.ID}) })
		race("a group deleted while a member joins another",
			func(ctx context.Context) error { return s.AddGroupMembers(ctx, f.beta.ID, []string{una.ID}) },
			func(ctx context.Context) error { return s.DeleteGroup(ctx, f.gamma.ID) })
		race("a role deleted while granted",
			func(ctx context.Context) error { return s.SetUserRoles(ctx, una.ID, []string{f.alpha.ID, f.zeta.ID}) },
			func(ctx context.Context) error { return s.DeleteRole(ctx, f.zeta.ID) })
		race("a field deleted while a user gets a value of it",
			func(ctx context.Context) error {
				return setCustom(ctx, map[string]string{"desk": "D-1", "badge": "U-1"})
			},
			func(ctx context.Context) error { return s.DeleteField(ctx, "desk") })
		if err := setCustom(ctx, map[string]string{"badge": "U-2"}); err != nil {
			t.Fatalf("a change after the field was deleted: %v", err)
		}
		checkUserLists(t, s, "a change after the field was deleted")
	})
}

// Migration 00006 fills the copies of a database that had none from the tables.
func TestUserListsMigration(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		newGrantFixture(t, s)
		if err := s.MigrateDownTo(ctx, 5); err != nil {
			t.Fatal(err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) == 0 || !strings.HasSuffix(applied[0], "00006_user_lists.sql") {
			t.Fatalf("Migrate = %v, %v; want 00006_user_lists.sql applied first", applied, err)
		}
		checkUserLists(t, s, "after migration 00006")
	})
}

// setCustomValues replaces a user's custom values, as the next version of the user.
func setCustomValues(ctx context.Context, s *store.Store, id string, values map[string]string) error {
	cur, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	prev := cur.Version
	cur.Custom, cur.Version = values, prev+1
	return s.UpdateUser(ctx, cur, prev)
}

// checkUserLists compares every user as lists, User and UserDetail show them with the tables.
func checkUserLists(t *testing.T, s *store.Store, step string) {
	t.Helper()
	ctx := context.Background()
	listed, _, err := s.ListUsers(ctx, user.Filter{Sort: "name", Limit: 1000})
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	ids := make([]string, len(listed))
	for i, d := range listed {
		ids[i] = d.ID
	}
	roles, groups, err := s.UserGrants(ctx, ids) // from user_roles and group_members
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	custom := map[string]map[string]string{}
	rows, err := s.DB().QueryContext(ctx, `SELECT user_id, field, value FROM user_field_values`)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	for rows.Next() {
		var id, field, value string
		if err := rows.Scan(&id, &field, &value); err != nil {
			t.Fatal(err)
		}
		if custom[id] == nil {
			custom[id] = map[string]string{}
		}
		custom[id][field] = value
	}
	rows.Close()
	for _, d := range listed {
		want := describeGrants(&user.Detail{User: &user.User{Custom: custom[d.ID]}, Roles: roles[d.ID], Groups: groups[d.ID]})
		if got := describeGrants(d); got != want {
			t.Errorf("%s: %s listed as\n%s\nthe tables hold\n%s", step, d.Username, got, want)
		}
		u, err := s.User(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(u.Custom, custom[d.ID]) {
			t.Errorf("%s: User(%s).Custom = %v, the table holds %v", step, d.Username, u.Custom, custom[d.ID])
		}
		detail, err := s.UserDetail(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := describeGrants(detail); got != want {
			t.Errorf("%s: UserDetail(%s) =\n%s\nthe tables hold\n%s", step, d.Username, got, want)
		}
	}
}

// Pages beyond the read connections queue for them, first come first served; a caller that
// gives up while queued gets its context's error and leaves the queue.
func TestListUsersQueue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		newGrantFixture(t, s)
		give := s.TakeListSlots()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, _, err := s.ListUsers(ctx, user.Filter{Sort: "name", Limit: 10}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ListUsers with every slot taken = %v, want the context's deadline", err)
		}
		done := make(chan error, 40)
		for range 40 {
			go func() {
				users, _, err := s.ListUsers(context.Background(), user.Filter{Sort: "name", Limit: 10})
				if err == nil && len(users) != 2 {
					err = fmt.Errorf("%d users, want 2", len(users))
				}
				done <- err
			}()
		}
		select {
		case err := <-done:
			t.Fatalf("a page ran while every slot was taken: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		give()
		for range 40 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
}

// A list inside a transaction shows the transaction's own changes to roles and groups, and
// nothing of them is kept once it rolls back.
func TestListUsersInsideTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newGrantFixture(t, s)
		groupNames := func(ctx context.Context) string {
			t.Helper()
			users, _, err := s.ListUsers(ctx, user.Filter{Q: "alice", Limit: 10})
			if err != nil || len(users) != 1 {
				t.Fatalf("ListUsers = %d users, %v; want alice", len(users), err)
			}
			return fmt.Sprint(users[0].Groups)
		}
		before := groupNames(ctx)
		errUndo := errors.New("undo")
		err := s.InTx(ctx, func(ctx context.Context) error {
			g := *f.beta
			g.Name, g.Version = "Renamed", f.beta.Version+1
			if err := s.UpdateGroup(ctx, &g, f.beta.Version); err != nil {
				return err
			}
			if got := groupNames(ctx); !strings.Contains(got, "Renamed") {
				t.Errorf("inside the transaction alice's groups are %s, want the renamed one", got)
			}
			return errUndo
		})
		if err != errUndo {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		if after := groupNames(ctx); after != before {
			t.Errorf("after the rollback alice's groups are %s, want %s", after, before)
		}
	})
}
