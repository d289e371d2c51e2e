package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func TestGroupMembers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		eng, ops, empty := mustInsertGroup(t, s, "engineering"), mustInsertGroup(t, s, "Ops"), mustInsertGroup(t, s, "Zeta")
		ann, ben, cat := mustInsertUser(t, s, newUser("ann")), mustInsertUser(t, s, newUser("ben")), mustInsertUser(t, s, newUser("cat"))
		members := func(g *user.Group) int64 {
			t.Helper()
			got, err := s.Group(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.MemberCount
		}
		groupsOf := func(u *user.User) []string {
			t.Helper()
			m, err := s.UserGroups(ctx, []string{u.ID})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range m[u.ID] {
				names = append(names, g.Name)
			}
			return names
		}

		steps := []struct {
			name    string
			do      func() error
			counts  map[*user.Group]int64
			ofUsers map[*user.User][]string // by group name, ordered case-insensitively
		}{
			{"add two", func() error { return s.AddGroupMembers(ctx, eng.ID, []string{ann.ID, ben.ID}) },
				map[*user.Group]int64{eng: 2, ops: 0, empty: 0},
				map[*user.User][]string{ann: {"engineering"}, ben: {"engineering"}, cat: nil}},
			{"add again with one new", func() error { return s.AddGroupMembers(ctx, eng.ID, []string{ann.ID, cat.ID, cat.ID}) },
				map[*user.Group]int64{eng: 3},
				map[*user.User][]string{cat: {"engineering"}}},
			{"add to a second group", func() error { return s.AddGroupMembers(ctx, ops.ID, []string{ann.ID}) },
				map[*user.Group]int64{eng: 3, ops: 1},
				map[*user.User][]string{ann: {"engineering", "Ops"}}},
			{"remove one, and one who is not a member", func() error {
				return s.RemoveGroupMembers(ctx, eng.ID, []string{ben.ID, "no-such-user"})
			},
				map[*user.Group]int64{eng: 2, ops: 1},
				map[*user.User][]string{ben: nil, ann: {"engineering", "Ops"}}},
			{"remove nobody", func() error { return s.RemoveGroupMembers(ctx, eng.ID, nil) },
				map[*user.Group]int64{eng: 2}, nil},
			{"replace a user's groups", func() error { return s.SetUserGroups(ctx, ann.ID, []string{ops.ID, empty.ID}) },
				map[*user.Group]int64{eng: 1, ops: 1, empty: 1},
				map[*user.User][]string{ann: {"Ops", "Zeta"}, cat: {"engineering"}}},
			{"clear a user's groups", func() error { return s.SetUserGroups(ctx, ann.ID, nil) },
				map[*user.Group]int64{eng: 1, ops: 0, empty: 0},
				map[*user.User][]string{ann: nil}},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			for g, want := range st.counts {
				if got := members(g); got != want {
					t.Errorf("%s: %s has %d members, want %d", st.name, g.Name, got, want)
				}
			}
			for u, want := range st.ofUsers {
				if got := groupsOf(u); !slices.Equal(got, want) {
					t.Errorf("%s: groups of %s = %v, want %v", st.name, u.Username, got, want)
				}
			}
		}

		// One call for several users: each gets their own groups.
		if err := s.AddGroupMembers(ctx, ops.ID, []string{ben.ID, cat.ID}); err != nil {
			t.Fatal(err)
		}
		m, err := s.UserGroups(ctx, []string{ann.ID, ben.ID, cat.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(m[ann.ID]) != 0 || len(m[ben.ID]) != 1 || len(m[cat.ID]) != 2 ||
			m[cat.ID][0] != (user.GroupRef{ID: eng.ID, Name: "engineering"}) || m[cat.ID][1] != (user.GroupRef{ID: ops.ID, Name: "Ops"}) {
			t.Errorf("UserGroups = %+v", m)
		}

		// Deleting a group ends its memberships; the users stay.
		if err := s.DeleteGroup(ctx, ops.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Group(ctx, ops.ID)
		wantErr(t, err, errs.NotFound, "group.not_found", "")
		if got := groupsOf(cat); !slices.Equal(got, []string{"engineering"}) {
			t.Errorf("cat's groups after deleting Ops = %v", got)
		}
		if n := count(t, s, `SELECT count(*) FROM group_members WHERE group_id = $1`, ops.ID); n != 0 {
			t.Errorf("%d memberships of a deleted group left", n)
		}
		if _, err := s.User(ctx, ben.ID); err != nil {
			t.Errorf("member of a deleted group: %v", err)
		}
	})
}

func TestGroups(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		g := &user.Group{ID: "g-1", Name: "Sales EMEA", Description: "Sells", ExternalID: "cn=sales", Source: user.Directory,
			Version: 1, CreatedAt: t0, UpdatedAt: t0}
		if err := s.InsertGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		got, err := s.Group(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != g.Name || got.Description != g.Description || got.ExternalID != g.ExternalID ||
			got.Source != g.Source || got.Version != 1 || got.MemberCount != 0 || len(got.Roles) != 0 {
			t.Errorf("Group = %+v, want %+v", got, g)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, t0)

		for _, tc := range []struct {
			name        string
			g           user.Group
			code, field string
		}{
			{"name in other case", user.Group{ID: "g-2", Name: "sales emea", Source: user.Local}, "group.name_taken", "name"},
			{"external id of the same source", user.Group{ID: "g-3", Name: "Other", ExternalID: "cn=sales", Source: user.Directory}, "group.external_id_taken", "external_id"},
		} {
			tc.g.Version, tc.g.CreatedAt, tc.g.UpdatedAt = 1, t0, t0
			wantErr(t, s.InsertGroup(ctx, &tc.g), errs.Conflict, tc.code, tc.field)
		}
		// Groups without an external id, or of another source, do not clash.
		for i, src := range []user.Source{user.Local, user.Local, user.SCIM} {
			ext := ""
			if src == user.SCIM {
				ext = "cn=sales"
			}
			other := &user.Group{ID: fmt.Sprint("x", i), Name: fmt.Sprint("Team ", i), ExternalID: ext, Source: src, Version: 1, CreatedAt: t0, UpdatedAt: t0}
			if err := s.InsertGroup(ctx, other); err != nil {
				t.Errorf("group %d: %v", i, err)
			}
		}

		r1, r2 := mustInsertRole(t, s, "Zulu", user.UsersRead), mustInsertRole(t, s, "alpha", user.AuditRead)
		if err := s.SetGroupRoles(ctx, g.ID, []string{r1.ID, r2.ID, r1.ID}); err != nil {
			t.Fatal(err)
		}
		got, err = s.Group(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Roles) != 2 || got.Roles[0].ID != r2.ID || got.Roles[1].ID != r1.ID {
			t.Errorf("group roles = %+v, want alpha, Zulu", got.Roles)
		}
		if p := got.Permissions(); !slices.Equal(p, user.NewPermissions(user.UsersRead, user.AuditRead)) {
			t.Errorf("group permissions = %v", p)
		}
		if err := s.SetGroupRoles(ctx, g.ID, []string{r1.ID}); err != nil {
			t.Fatal(err)
		}
		if got, err = s.Group(ctx, g.ID); err != nil || len(got.Roles) != 1 || got.Roles[0].ID != r1.ID {
			t.Errorf("group roles after replace = %+v, %v", got, err)
		}

		changed := *g
		changed.Name, changed.Description, changed.ExternalID = "Sales Europe", "", ""
		changed.Version, changed.UpdatedAt = 2, t0.Add(time.Hour)
		wantErr(t, s.UpdateGroup(ctx, &changed, 7), errs.PreconditionFailed, "version.stale", "")
		taken := changed
		taken.Name = "TEAM 0"
		wantErr(t, s.UpdateGroup(ctx, &taken, 1), errs.Conflict, "group.name_taken", "name")
		if err := s.UpdateGroup(ctx, &changed, 1); err != nil {
			t.Fatal(err)
		}
		if got, err = s.Group(ctx, g.ID); err != nil || got.Name != "Sales Europe" || got.ExternalID != "" || got.Version != 2 {
			t.Errorf("group after update = %+v, %v", got, err)
		}
	})
}

func TestListGroups(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		var want []string
		for i := range 25 {
			name := fmt.Sprintf("Team %02d", i)
			if i%2 == 1 {
				name = fmt.Sprintf("team %02d", i)
			}
			mustInsertGroup(t, s, name)
			want = append(want, name)
		}
		mustInsertGroup(t, s, "Other")
		u := mustInsertUser(t, s, newUser("member"))
		first, _, err := s.ListGroups(ctx, user.GroupFilter{Q: "team 00", Limit: 1})
		if err != nil || len(first) != 1 {
			t.Fatalf("ListGroups(team 00) = %v, %v", first, err)
		}
		if err := s.AddGroupMembers(ctx, first[0].ID, []string{u.ID}); err != nil {
			t.Fatal(err)
		}
		var got []string
		f := user.GroupFilter{Q: "TEAM", Limit: 7}
		for {
			page, next, err := s.ListGroups(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range page {
				got = append(got, g.Name)
				if want := int64(0); g.Name == "Team 00" {
					if g.MemberCount != 1 {
						t.Errorf("Team 00 has %d members, want 1", g.MemberCount)
					}
				} else if g.MemberCount != want {
					t.Errorf("%s has %d members, want 0", g.Name, g.MemberCount)
				}
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("groups = %v, want %v", got, want)
		}
		_, _, err = s.ListGroups(ctx, user.GroupFilter{Limit: 5, Cursor: "nonsense"})
		wantErr(t, err, errs.Invalid, "filter.cursor_invalid", "cursor")
	})
}
