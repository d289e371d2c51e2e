package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

func TestSyncBuiltinRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		custom := mustInsertRole(t, s, "Helpdesk", user.UsersRead, user.UsersLock)
		check := func(round string) {
			t.Helper()
			roles, err := s.Roles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := user.BuiltinRoles()
			if len(roles) != len(want)+1 {
				t.Fatalf("%s: %d roles, want %d built-in and one custom: %+v", round, len(roles), len(want), roles)
			}
			for _, w := range want {
				i := slices.IndexFunc(roles, func(r user.Role) bool { return r.ID == w.ID })
				if i < 0 {
					t.Errorf("%s: built-in role %s missing", round, w.ID)
					continue
				}
				r := roles[i]
				if i >= len(want) {
					t.Errorf("%s: built-in role %s listed at %d, after a custom role", round, w.ID, i)
				}
				if r.Name != w.Name || r.Description != w.Description || !r.Builtin || !slices.Equal(r.Permissions, w.Permissions) || r.Version != 1 {
					t.Errorf("%s: role %s = %+v, want %+v", round, w.ID, r, w)
				}
			}
			last := roles[len(roles)-1]
			if last.ID != custom.ID || last.Builtin || !slices.Equal(last.Permissions, custom.Permissions) {
				t.Errorf("%s: custom role = %+v, want %+v", round, last, custom)
			}
		}

		if err := s.SyncBuiltinRoles(ctx); err != nil {
			t.Fatalf("first SyncBuiltinRoles: %v", err)
		}
		check("first sync")
		first, err := s.Role(ctx, user.AdministratorRole)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SyncBuiltinRoles(ctx); err != nil {
			t.Fatalf("second SyncBuiltinRoles: %v", err)
		}
		check("second sync")

		// A stale built-in role (an older binary's catalogue) is brought up to date, and keeps
		// its creation time and its grants.
		u := mustInsertUser(t, s, newUser("admin"))
		if err := s.SetUserRoles(ctx, u.ID, []string{user.AdministratorRole}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, `UPDATE roles SET permissions = 'users.read', name = 'Admin' WHERE id = $1`, user.AdministratorRole); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncBuiltinRoles(ctx); err != nil {
			t.Fatalf("third SyncBuiltinRoles: %v", err)
		}
		check("sync after a change")
		again, err := s.Role(ctx, user.AdministratorRole)
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "CreatedAt after re-sync", again.CreatedAt, first.CreatedAt)
		if perms, err := s.EffectivePermissions(ctx, u.ID); err != nil || !slices.Equal(perms, user.AllPermissions()) {
			t.Errorf("administrator's permissions after sync = %v, %v; want all", perms, err)
		}
	})
}

func TestRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		r := mustInsertRole(t, s, "Helpdesk", user.UsersRead, user.UsersLock)
		got, err := s.Role(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Helpdesk" || got.Builtin || !slices.Equal(got.Permissions, r.Permissions) || got.Version != 1 {
			t.Errorf("Role = %+v, want %+v", got, r)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, t0)

		dup := &user.Role{ID: "other", Name: "HELPDESK", Version: 1, CreatedAt: t0, UpdatedAt: t0}
		wantErr(t, s.InsertRole(ctx, dup), errs.Conflict, "role.name_taken", "name")

		changed := *got
		changed.Name, changed.Description = "Service Desk", "First line"
		changed.Permissions = user.NewPermissions(user.UsersRead)
		changed.Version, changed.UpdatedAt = 2, t0.Add(time.Hour)
		wantErr(t, s.UpdateRole(ctx, &changed, 5), errs.PreconditionFailed, "version.stale", "")
		if err := s.UpdateRole(ctx, &changed, 1); err != nil {
			t.Fatalf("UpdateRole: %v", err)
		}
		got, err = s.Role(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Service Desk" || got.Description != "First line" || !slices.Equal(got.Permissions, changed.Permissions) || got.Version != 2 {
			t.Errorf("Role after update = %+v", got)
		}
		// The old name is free, the new one taken, in any case.
		mustInsertRole(t, s, "helpdesk")
		wantErr(t, s.InsertRole(ctx, &user.Role{ID: "x", Name: "service DESK", Version: 1, CreatedAt: t0, UpdatedAt: t0}),
			errs.Conflict, "role.name_taken", "name")

		u := mustInsertUser(t, s, newUser("holder"))
		g := mustInsertGroup(t, s, "Holders")
		if err := s.SetUserRoles(ctx, u.ID, []string{r.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetGroupRoles(ctx, g.ID, []string{r.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRole(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Role(ctx, r.ID)
		wantErr(t, err, errs.NotFound, "role.not_found", "")
		if n := count(t, s, `SELECT count(*) FROM user_roles WHERE role_id = $1`, r.ID) +
			count(t, s, `SELECT count(*) FROM group_roles WHERE role_id = $1`, r.ID); n != 0 {
			t.Errorf("%d grants of a deleted role left", n)
		}
	})
}

func TestEffectiveRoles(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		a := mustInsertRole(t, s, "Alpha", user.UsersRead, user.UsersWrite)
		b := mustInsertRole(t, s, "Bravo", user.UsersRead, user.AuditRead)
		c := mustInsertRole(t, s, "Charlie", user.ExportRun)
		d := mustInsertRole(t, s, "Delta", user.SettingsManage) // granted to nobody below
		g1, g2, g3 := mustInsertGroup(t, s, "Ops"), mustInsertGroup(t, s, "Audit"), mustInsertGroup(t, s, "Empty")
		for g, roles := range map[string][]string{g1.ID: {a.ID, b.ID}, g2.ID: {b.ID, c.ID}, g3.ID: nil} {
			if err := s.SetGroupRoles(ctx, g, roles); err != nil {
				t.Fatal(err)
			}
		}
		both := mustInsertUser(t, s, newUser("both"))       // direct Alpha; member of Ops and Audit
		direct := mustInsertUser(t, s, newUser("direct"))   // direct Alpha and Charlie only
		member := mustInsertUser(t, s, newUser("member"))   // member of Audit only
		nothing := mustInsertUser(t, s, newUser("nothing")) // member of Empty, no roles
		for _, step := range []error{
			s.SetUserRoles(ctx, both.ID, []string{a.ID}),
			s.SetUserRoles(ctx, direct.ID, []string{c.ID, a.ID, a.ID}),
			s.SetUserGroups(ctx, both.ID, []string{g1.ID, g2.ID}),
			s.AddGroupMembers(ctx, g2.ID, []string{member.ID}),
			s.AddGroupMembers(ctx, g3.ID, []string{nothing.ID}),
		} {
			if step != nil {
				t.Fatal(step)
			}
		}

		type grant struct {
			role              string
			direct, inherited bool
			via               []string // group names
		}
		tests := []struct {
			user  *user.User
			want  []grant // by role name
			perms user.Permissions
		}{
			{both, []grant{
				{"Alpha", true, false, []string{"Ops"}},
				{"Bravo", false, true, []string{"Audit", "Ops"}},
				{"Charlie", false, true, []string{"Audit"}},
			}, user.NewPermissions(user.UsersRead, user.UsersWrite, user.AuditRead, user.ExportRun)},
			{direct, []grant{
				{"Alpha", true, false, nil},
				{"Charlie", true, false, nil},
			}, user.NewPermissions(user.UsersRead, user.UsersWrite, user.ExportRun)},
			{member, []grant{
				{"Bravo", false, true, []string{"Audit"}},
				{"Charlie", false, true, []string{"Audit"}},
			}, user.NewPermissions(user.UsersRead, user.AuditRead, user.ExportRun)},
			{nothing, nil, nil},
		}
		userIDs := []string{both.ID, direct.ID, member.ID, nothing.ID}
		grants, err := s.UserRoles(ctx, userIDs)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			t.Run(tc.user.Username, func(t *testing.T) {
				var got []grant
				for _, g := range grants[tc.user.ID] {
					if g.ID == d.ID {
						t.Errorf("role Delta granted to nobody shows up")
					}
					var via []string
					for _, v := range g.Via {
						via = append(via, v.Name)
					}
					slices.Sort(via)
					got = append(got, grant{g.Name, g.Direct, g.Inherited, via})
					if len(g.Permissions) == 0 {
						t.Errorf("grant %s has no permissions loaded", g.Name)
					}
				}
				if !slices.EqualFunc(got, tc.want, func(x, y grant) bool {
					return x.role == y.role && x.direct == y.direct && x.inherited == y.inherited && slices.Equal(x.via, y.via)
				}) {
					t.Errorf("UserRoles = %+v, want %+v", got, tc.want)
				}
				perms, err := s.EffectivePermissions(ctx, tc.user.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(perms, tc.perms) {
					t.Errorf("EffectivePermissions = %v, want %v", perms, tc.perms)
				}
				// The union of the grants' permissions is the effective set.
				var union user.Permissions
				for _, g := range grants[tc.user.ID] {
					union = union.Union(g.Permissions)
				}
				if !slices.Equal(union, perms) {
					t.Errorf("union of UserRoles permissions %v differs from EffectivePermissions %v", union, perms)
				}
			})
		}

		// Leaving a group takes its roles away; the direct grant stays.
		if err := s.RemoveGroupMembers(ctx, g2.ID, []string{both.ID}); err != nil {
			t.Fatal(err)
		}
		perms, err := s.EffectivePermissions(ctx, both.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := user.NewPermissions(user.UsersRead, user.UsersWrite, user.AuditRead); !slices.Equal(perms, want) {
			t.Errorf("after leaving Audit: permissions %v, want %v", perms, want)
		}
		// Replacing the direct roles with none leaves only what Ops gives.
		if err := s.SetUserRoles(ctx, both.ID, nil); err != nil {
			t.Fatal(err)
		}
		grants, err = s.UserRoles(ctx, []string{both.ID})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range grants[both.ID] {
			names = append(names, g.Name)
			if g.Direct || !g.Inherited {
				t.Errorf("%s: direct %v inherited %v, want inherited only", g.Name, g.Direct, g.Inherited)
			}
		}
		if strings.Join(names, ",") != "Alpha,Bravo" {
			t.Errorf("roles after clearing direct ones = %v, want Alpha,Bravo through Ops", names)
		}
		if got, err := s.UserRoles(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("UserRoles(nil) = %v, %v", got, err)
		}
	})
}
