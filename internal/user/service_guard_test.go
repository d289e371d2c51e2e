package user_test

import (
	"context"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// bulkOne runs a bulk action on one user and returns that user's outcome.
func bulkOne(f *fixture, a user.Actor, action, id string, roles ...string) error {
	if roles == nil && (action == user.BulkSetRoles || action == user.BulkAddRoles || action == user.BulkRemoveRoles) {
		roles = []string{}
	}
	res, err := f.svc.Bulk(context.Background(), a, user.BulkRequest{Action: action, IDs: []string{id}, RoleIDs: roles})
	if err != nil {
		return err
	}
	return res[0].Error
}

func TestProtectedUsers(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		da := f.admin.ID
		admin2 := f.actor(t, f.create(t, f.admin, "admin2@example.com", user.AdministratorRole).ID)
		dir := f.insert(t, user.User{Username: "dirk", Email: "dirk@corp.example", Source: user.Directory, ExternalID: "uid=dirk"})
		update := func(a user.Actor, id string, roles ...string) func() error {
			return func() error {
				if roles == nil {
					roles = []string{}
				}
				_, err := f.svc.UpdateUser(ctx, a, id, user.AnyVersion, user.Patch{RoleIDs: &roles})
				return err
			}
		}
		status := func(a user.Actor, id string, ev user.Event) func() error {
			return func() error { _, err := f.svc.ChangeStatus(ctx, a, id, ev); return err }
		}
		del := func(a user.Actor, id string) func() error {
			return func() error { return f.svc.DeleteUser(ctx, a, id, user.AnyVersion) }
		}
		bulk := func(a user.Actor, action, id string, roles ...string) func() error {
			return func() error { return bulkOne(f, a, action, id, roles...) }
		}
		for _, tc := range []struct {
			name string
			do   func() error
			kind errs.Kind
			code string
		}{
			{"delete yourself", del(f.manager, f.manager.ID), errs.Forbidden, "user.self"},
			{"disable yourself", status(f.manager, f.manager.ID, user.Disable), errs.Forbidden, "user.self"},
			{"lock yourself", status(f.manager, f.manager.ID, user.Lock), errs.Forbidden, "user.self"},
			{"bulk delete yourself", bulk(f.manager, user.BulkDelete, f.manager.ID), errs.Forbidden, "user.self"},
			{"bulk disable yourself", bulk(admin2, user.BulkDisable, admin2.ID), errs.Forbidden, "user.self"},
			{"Default Administrator deletes themself", del(f.admin, da), errs.Forbidden, "user.self"},

			{"delete the Default Administrator", del(admin2, da), errs.Forbidden, "user.default_admin"},
			{"disable the Default Administrator", status(admin2, da, user.Disable), errs.Forbidden, "user.default_admin"},
			{"lock the Default Administrator", status(admin2, da, user.Lock), errs.Forbidden, "user.default_admin"},
			{"manager deletes the Default Administrator", del(f.manager, da), errs.Forbidden, "user.default_admin"},
			{"bulk delete the Default Administrator", bulk(admin2, user.BulkDelete, da), errs.Forbidden, "user.default_admin"},
			{"bulk disable the Default Administrator", bulk(admin2, user.BulkDisable, da), errs.Forbidden, "user.default_admin"},
			{"bulk lock the Default Administrator", bulk(admin2, user.BulkLock, da), errs.Forbidden, "user.default_admin"},

			{"replace the Default Administrator's roles", update(admin2, da, user.ViewerRole), errs.Forbidden, "user.default_admin"},
			{"clear the Default Administrator's roles", update(admin2, da), errs.Forbidden, "user.default_admin"},
			{"Default Administrator drops their own role", update(f.admin, da, user.AuditorRole), errs.Forbidden, "user.default_admin"},
			{"bulk set_roles on the Default Administrator", bulk(admin2, user.BulkSetRoles, da, user.ViewerRole), errs.Forbidden, "user.default_admin"},
			{"bulk set_roles to nothing", bulk(admin2, user.BulkSetRoles, da), errs.Forbidden, "user.default_admin"},
			{"bulk remove_roles Administrator", bulk(admin2, user.BulkRemoveRoles, da, user.AdministratorRole), errs.Forbidden, "user.default_admin"},
			{"delete the Administrator role", func() error { return f.svc.DeleteRole(ctx, admin2, user.AdministratorRole, user.AnyVersion) }, errs.Forbidden, "role.builtin"},
			{"empty the Administrator role", func() error {
				_, err := f.svc.UpdateRole(ctx, admin2, user.AdministratorRole, user.AnyVersion, user.RoleInput{Permissions: &[]user.Permission{user.UsersRead}})
				return err
			}, errs.Forbidden, "role.builtin"},

			{"delete a directory user", del(f.admin, dir.ID), errs.Conflict, "user.directory_owned"},
			{"bulk delete a directory user", bulk(f.admin, user.BulkDelete, dir.ID), errs.Conflict, "user.directory_owned"},
			{"viewer deletes", del(f.viewer, dir.ID), errs.Forbidden, "auth.permission_denied"},
			{"delete a user who does not exist", del(f.admin, "01900000-0000-7000-8000-000000000000"), errs.NotFound, "user.not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, f.unchanged(t, tc.do), tc.kind, tc.code)
			})
		}

		t.Run("allowed", func(t *testing.T) {
			f.audited(t, admin2, "user.update", func() (string, error) {
				return da, update(admin2, da, user.AdministratorRole, user.AuditorRole)()
			})
			f.audited(t, admin2, "user.update", func() (string, error) {
				return da, bulk(admin2, user.BulkRemoveRoles, da, user.AuditorRole)()
			})
			f.audited(t, f.admin, "user.disable", func() (string, error) {
				return dir.ID, status(f.admin, dir.ID, user.Disable)()
			})
			f.audited(t, f.manager, "user.delete", func() (string, error) {
				return f.viewer.ID, del(f.manager, f.viewer.ID)()
			})
			if f.exists(t, f.viewer.ID) {
				t.Error("the deleted viewer still exists")
			}
			if u := f.user(t, dir.ID); u.Status != user.Disabled {
				t.Errorf("the directory user is %s, want disabled", u.Status)
			}
		})

		d, err := f.svc.GetUser(ctx, f.admin, da)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != user.Active || !d.DefaultAdmin || !slices.Equal(roleIDs(d, true), []string{user.AdministratorRole}) {
			t.Errorf("the Default Administrator ended %s with roles %v", d.Status, roleIDs(d, true))
		}
	})
}
