package user_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// TestOneAuditEventPerChange walks through every kind of change the service makes and checks
// that each wrote exactly one audit event, about the right target, by the right actor.
func TestOneAuditEventPerChange(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		a := f.admin
		var uid, rid, gid string
		var roleVersion, groupVersion, fieldVersion int64
		for _, tc := range []struct {
			action string
			do     func() (string, error)
		}{
			{"user.create", func() (string, error) {
				d, err := f.svc.CreateUser(ctx, a, user.CreateInput{Profile: user.Profile{Email: ptr("audited@example.com"),
					FirstName: ptr("Au"), LastName: ptr("Dit")}, Password: ptr(password)})
				if err != nil {
					return "", err
				}
				uid = d.ID
				return uid, nil
			}},
			{"user.update", func() (string, error) {
				_, err := f.svc.UpdateUser(ctx, a, uid, 1, user.Patch{Profile: user.Profile{Department: ptr("Audit")}, RoleIDs: &[]string{user.AuditorRole}})
				return uid, err
			}},
			{"user.lock", func() (string, error) { _, err := f.svc.ChangeStatus(ctx, a, uid, user.Lock); return uid, err }},
			{"user.unlock", func() (string, error) { _, err := f.svc.ChangeStatus(ctx, a, uid, user.Unlock); return uid, err }},
			{"user.disable", func() (string, error) { _, err := f.svc.ChangeStatus(ctx, a, uid, user.Disable); return uid, err }},
			{"user.enable", func() (string, error) { _, err := f.svc.ChangeStatus(ctx, a, uid, user.Enable); return uid, err }},
			{"role.create", func() (string, error) {
				r, err := f.svc.CreateRole(ctx, a, user.RoleInput{Name: ptr("Auditors+"), Permissions: &[]user.Permission{user.AuditRead}})
				if err != nil {
					return "", err
				}
				rid, roleVersion = r.ID, r.Version
				return rid, nil
			}},
			{"role.update", func() (string, error) {
				_, err := f.svc.UpdateRole(ctx, a, rid, roleVersion, user.RoleInput{Permissions: &[]user.Permission{user.AuditRead, user.UsersRead}})
				return rid, err
			}},
			{"group.create", func() (string, error) {
				g, err := f.svc.CreateGroup(ctx, a, user.GroupInput{Name: ptr("Reviewers"), RoleIDs: &[]string{rid}})
				if err != nil {
					return "", err
				}
				gid, groupVersion = g.ID, g.Version
				return gid, nil
			}},
			{"group.update", func() (string, error) {
				_, err := f.svc.UpdateGroup(ctx, a, gid, groupVersion, user.GroupInput{Description: ptr("People who review")})
				return gid, err
			}},
			{"group.members_add", func() (string, error) {
				_, err := f.svc.ChangeMembers(ctx, a, gid, true, []string{uid})
				return gid, err
			}},
			{"group.members_remove", func() (string, error) {
				_, err := f.svc.ChangeMembers(ctx, a, gid, false, []string{uid})
				return gid, err
			}},
			{"group.delete", func() (string, error) { return gid, f.svc.DeleteGroup(ctx, a, gid, user.AnyVersion) }},
			{"role.delete", func() (string, error) { return rid, f.svc.DeleteRole(ctx, a, rid, user.AnyVersion) }},
			{"field.create", func() (string, error) {
				fd, err := f.svc.CreateField(ctx, a, user.FieldInput{Name: "cost_centre", Label: ptr("Cost centre"), Type: user.TextField})
				if err == nil {
					fieldVersion = fd.Version
				}
				return "cost_centre", err
			}},
			{"field.update", func() (string, error) {
				_, err := f.svc.UpdateField(ctx, a, "cost_centre", fieldVersion, user.FieldInput{Label: ptr("Cost center")})
				return "cost_centre", err
			}},
			{"field.delete", func() (string, error) {
				return "cost_centre", f.svc.DeleteField(ctx, a, "cost_centre", user.AnyVersion)
			}},
			{"user.delete", func() (string, error) { return uid, f.svc.DeleteUser(ctx, a, uid, user.AnyVersion) }},
		} {
			t.Run(tc.action, func(t *testing.T) { f.audited(t, a, tc.action, tc.do) })
		}

		// The deleted user's trail outlives them.
		trail := f.audit(t, audit.Filter{TargetID: uid})
		if len(trail) != 7 || trail[0].Action != "user.delete" || trail[0].Details["email"] != "audited@example.com" {
			t.Errorf("the deleted user's trail has %d events, newest %+v", len(trail), trail[0])
		}
	})
}

// TestUserAudit: the per-user trail holds the events about that user only, and outlives them;
// for an id that is no user's and that the log never saw it is NotFound, as reading the user
// is; it needs audit.read before anything.
func TestUserAudit(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		d := f.create(t, f.admin, "trail@example.com")
		if _, err := f.svc.ChangeStatus(ctx, f.admin, d.ID, user.Lock); err != nil {
			t.Fatal(err)
		}
		f.create(t, f.admin, "other@example.com")
		events, next, err := f.svc.UserAudit(ctx, f.admin, d.ID, audit.Filter{TargetID: "someone else"})
		if err != nil || next != "" || len(events) != 2 || events[0].Action != "user.lock" || events[1].Action != "user.create" {
			t.Fatalf("trail: %+v, next %q, %v; want user.lock then user.create", events, next, err)
		}
		for _, e := range events {
			if e.TargetID != d.ID {
				t.Errorf("event %s about %s in the trail of %s", e.Action, e.TargetID, d.ID)
			}
		}
		// A group's or a role's id is in the log, as the target of its own events, but it is
		// no user's: reading it as a user's trail is the same NotFound.
		g, err := f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("Auditors")})
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Reader"), Permissions: &[]user.Permission{user.UsersRead}})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{uuid.NewString(), "not-an-id", g.ID, r.ID} {
			_, _, err := f.svc.UserAudit(ctx, f.admin, id, audit.Filter{})
			wantErr(t, err, errs.NotFound, "user.not_found")
			_, _, err = f.svc.UserAudit(ctx, f.viewer, id, audit.Filter{})
			wantErr(t, err, errs.Forbidden, "")
		}
		_, _, err = f.svc.UserAudit(ctx, f.viewer, d.ID, audit.Filter{})
		wantErr(t, err, errs.Forbidden, "")

		if err := f.svc.DeleteUser(ctx, f.admin, d.ID, user.AnyVersion); err != nil {
			t.Fatal(err)
		}
		events, _, err = f.svc.UserAudit(ctx, f.admin, d.ID, audit.Filter{Action: "user.create"})
		if err != nil || len(events) != 1 {
			t.Fatalf("the deleted user's trail, user.create only: %+v, %v", events, err)
		}
	})
}
