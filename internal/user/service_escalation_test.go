package user_test

import (
	"context"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

func mustRole(t *testing.T, f *fixture, name string, ps ...user.Permission) *user.Role {
	t.Helper()
	r, err := f.svc.CreateRole(context.Background(), f.admin, user.RoleInput{Name: ptr(name), Permissions: &ps})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return r
}

func mustGroup(t *testing.T, f *fixture, a user.Actor, name string, roles ...string) *user.Group {
	t.Helper()
	g, err := f.svc.CreateGroup(context.Background(), a, user.GroupInput{Name: ptr(name), RoleIDs: &roles})
	if err != nil {
		t.Fatalf("create group %s: %v", name, err)
	}
	return g
}

// TestNoEscalation: a User Manager can never hand out, or take away, what they do not hold, nor
// change someone who holds more than they do.
func TestNoEscalation(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		m := f.manager
		keeper := mustRole(t, f, "Settings Keeper", user.UsersRead, user.SettingsManage)
		helpdesk := mustRole(t, f, "Helpdesk", user.UsersRead, user.UsersLock)
		roleAdmin := f.actor(t, f.create(t, f.admin, "roleadmin@example.com",
			mustRole(t, f, "Role Admin", user.UsersRead, user.RolesManage).ID).ID)
		admins := mustGroup(t, f, f.admin, "Admins", user.AdministratorRole)
		team := mustGroup(t, f, m, "Team", user.ViewerRole)
		target := f.create(t, f.admin, "target@example.com", user.ViewerRole).ID
		admin2 := f.create(t, f.admin, "admin2@example.com", user.AdministratorRole).ID
		viaGroup := f.create(t, f.admin, "viagroup@example.com").ID
		if _, err := f.svc.ChangeMembers(ctx, f.admin, admins.ID, true, []string{viaGroup}); err != nil {
			t.Fatal(err)
		}

		roles := func(a user.Actor, id string, ids ...string) func() error {
			return func() error {
				_, err := f.svc.UpdateUser(ctx, a, id, user.AnyVersion, user.Patch{RoleIDs: &ids})
				return err
			}
		}
		groups := func(a user.Actor, id string, ids ...string) func() error {
			return func() error {
				_, err := f.svc.UpdateUser(ctx, a, id, user.AnyVersion, user.Patch{GroupIDs: &ids})
				return err
			}
		}
		create := func(in user.CreateInput) func() error {
			in.Profile = user.Profile{Email: ptr("new@example.com"), FirstName: ptr("N"), LastName: ptr("U")}
			return func() error { _, err := f.svc.CreateUser(ctx, m, in); return err }
		}
		members := func(g string, add bool, id string) func() error {
			return func() error { _, err := f.svc.ChangeMembers(ctx, m, g, add, []string{id}); return err }
		}
		for _, tc := range []struct {
			name string
			do   func() error
			code string
		}{
			{"grant Administrator directly", roles(m, target, user.ViewerRole, user.AdministratorRole), "auth.escalation"},
			{"grant a custom role with more permissions", roles(m, target, user.ViewerRole, keeper.ID), "auth.escalation"},
			{"grant themself Administrator", roles(m, m.ID, user.UserManagerRole, user.AdministratorRole), "auth.escalation"},
			{"create a user with Administrator", create(user.CreateInput{RoleIDs: []string{user.AdministratorRole}}), "auth.escalation"},
			{"create a user in the Admins group", create(user.CreateInput{GroupIDs: []string{admins.ID}}), "auth.escalation"},
			{"put a user in the Admins group", groups(m, target, admins.ID), "auth.escalation"},
			{"put themself in the Admins group", groups(m, m.ID, admins.ID), "auth.escalation"},
			{"add a member to the Admins group", members(admins.ID, true, target), "auth.escalation"},
			{"remove a member from the Admins group", members(admins.ID, false, viaGroup), "auth.escalation"},
			{"add Administrator to a group they manage", func() error {
				_, err := f.svc.UpdateGroup(ctx, m, team.ID, user.AnyVersion, user.GroupInput{RoleIDs: &[]string{user.ViewerRole, user.AdministratorRole}})
				return err
			}, "auth.escalation"},
			{"add a stronger custom role to a group they manage", func() error {
				_, err := f.svc.UpdateGroup(ctx, m, team.ID, user.AnyVersion, user.GroupInput{RoleIDs: &[]string{keeper.ID}})
				return err
			}, "auth.escalation"},
			{"create a group with Administrator", func() error {
				_, err := f.svc.CreateGroup(ctx, m, user.GroupInput{Name: ptr("Sneaky"), RoleIDs: &[]string{user.AdministratorRole}})
				return err
			}, "auth.escalation"},
			{"delete the Admins group", func() error { return f.svc.DeleteGroup(ctx, m, admins.ID, user.AnyVersion) }, "auth.escalation"},
			// A directory sync fills a group by its external id: pointing the Admins group at a
			// directory group would make its members administrators.
			{"map the Admins group to a directory group", func() error {
				_, err := f.svc.UpdateGroup(ctx, m, admins.ID, user.AnyVersion, user.GroupInput{ExternalID: ptr("cn=everyone,ou=groups")})
				return err
			}, "auth.escalation"},
			{"bulk add Administrator", func() error { return bulkOne(f, m, user.BulkAddRoles, target, user.AdministratorRole) }, "auth.escalation"},
			{"bulk set a stronger custom role", func() error { return bulkOne(f, m, user.BulkSetRoles, target, keeper.ID) }, "auth.escalation"},
			{"create a custom role", func() error {
				_, err := f.svc.CreateRole(ctx, m, user.RoleInput{Name: ptr("Mine"), Permissions: &[]user.Permission{user.UsersRead}})
				return err
			}, "auth.permission_denied"},
			{"role admin creates a role with more than they hold", func() error {
				_, err := f.svc.CreateRole(ctx, roleAdmin, user.RoleInput{Name: ptr("Big"), Permissions: &[]user.Permission{user.SettingsManage}})
				return err
			}, "auth.escalation"},
			{"role admin widens a role beyond what they hold", func() error {
				_, err := f.svc.UpdateRole(ctx, roleAdmin, helpdesk.ID, user.AnyVersion, user.RoleInput{Permissions: &[]user.Permission{user.UsersRead, user.SettingsManage}})
				return err
			}, "auth.escalation"},

			{"edit an Administrator", func() error {
				_, err := f.svc.UpdateUser(ctx, m, admin2, user.AnyVersion, user.Patch{Profile: user.Profile{Department: ptr("Nowhere")}})
				return err
			}, "auth.superior"},
			{"strip an Administrator", roles(m, admin2, user.ViewerRole), "auth.superior"},
			{"lock an Administrator", func() error { _, err := f.svc.ChangeStatus(ctx, m, admin2, user.Lock); return err }, "auth.superior"},
			{"disable an Administrator through a group", func() error { _, err := f.svc.ChangeStatus(ctx, m, viaGroup, user.Disable); return err }, "auth.superior"},
			{"delete an Administrator", func() error { return f.svc.DeleteUser(ctx, m, admin2, user.AnyVersion) }, "auth.superior"},
			{"bulk disable an Administrator", func() error { return bulkOne(f, m, user.BulkDisable, admin2) }, "auth.superior"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, f.unchanged(t, tc.do), errs.Forbidden, tc.code)
			})
		}

		perms, err := f.st.EffectivePermissions(ctx, target)
		if err != nil || !slices.Equal(perms, user.NewPermissions(user.UsersRead)) {
			t.Fatalf("the target ended with %v, %v; want only users.read", perms, err)
		}
		if p, _ := f.st.EffectivePermissions(ctx, m.ID); !slices.Equal(p, m.Permissions) {
			t.Fatalf("the manager ended with %v, want %v", p, m.Permissions)
		}

		t.Run("what they hold they may grant", func(t *testing.T) {
			f.audited(t, m, "user.update", func() (string, error) { return target, roles(m, target, helpdesk.ID)() })
			f.audited(t, m, "group.members_add", func() (string, error) { return team.ID, members(team.ID, true, target)() })
			f.audited(t, m, "group.update", func() (string, error) {
				_, err := f.svc.UpdateGroup(ctx, m, team.ID, user.AnyVersion, user.GroupInput{RoleIDs: &[]string{user.ViewerRole, helpdesk.ID}})
				return team.ID, err
			})
			want := user.NewPermissions(user.UsersRead, user.UsersLock)
			if p, _ := f.st.EffectivePermissions(ctx, target); !slices.Equal(p, want) {
				t.Errorf("the target has %v, want %v", p, want)
			}
		})
	})
}
