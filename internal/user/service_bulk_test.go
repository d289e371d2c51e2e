package user_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

const nobody = "01900000-0000-7000-8000-000000000000"

func TestBulkMixed(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		m := f.manager
		mk := func(email string, roles ...string) string { return f.create(t, f.admin, email, roles...).ID }
		u1, u2, u3 := mk("u1@example.com", user.ViewerRole), mk("u2@example.com", user.ViewerRole), mk("u3@example.com")
		helpdesk := mustRole(t, f, "Helpdesk", user.UsersRead, user.UsersLock).ID // within the manager's rights
		admin2 := mk("admin2@example.com", user.AdministratorRole)
		dir := f.insert(t, user.User{Username: "dir", Email: "dir@corp.example", Source: user.Directory, ExternalID: "uid=dir"}).ID
		if _, err := f.svc.ChangeStatus(ctx, f.admin, u2, user.Disable); err != nil {
			t.Fatal(err)
		}
		type outcome struct {
			id   string
			code string // "" for success
		}
		for _, tc := range []struct {
			name   string
			req    user.BulkRequest
			want   []outcome
			check  func(t *testing.T)
			action string // the audit action of each success
		}{
			{"disable", user.BulkRequest{Action: user.BulkDisable, IDs: []string{u1, nobody, u2, f.admin.ID, m.ID, admin2, u1, dir}},
				[]outcome{{u1, ""}, {nobody, "user.not_found"}, {u2, "user.invalid_transition"}, {f.admin.ID, "user.default_admin"},
					{m.ID, "user.self"}, {admin2, "auth.superior"}, {dir, ""}},
				func(t *testing.T) {
					for id, want := range map[string]user.Status{u1: user.Disabled, u2: user.Disabled, dir: user.Disabled, admin2: user.Active, m.ID: user.Active} {
						if got := f.user(t, id).Status; got != want {
							t.Errorf("%s is %s, want %s", id, got, want)
						}
					}
				}, "user.disable"},
			{"enable", user.BulkRequest{Action: user.BulkEnable, IDs: []string{u2, u3, nobody}},
				[]outcome{{u2, ""}, {u3, "user.invalid_transition"}, {nobody, "user.not_found"}},
				func(t *testing.T) {
					if s := f.user(t, u2).Status; s != user.Active {
						t.Errorf("u2 is %s, want active", s)
					}
				}, "user.enable"},
			{"add_roles", user.BulkRequest{Action: user.BulkAddRoles, IDs: []string{u1, u3, admin2, nobody}, RoleIDs: []string{helpdesk}},
				[]outcome{{u1, ""}, {u3, ""}, {admin2, "auth.superior"}, {nobody, "user.not_found"}},
				func(t *testing.T) {
					wantRoles(t, f, u1, helpdesk, user.ViewerRole)
					wantRoles(t, f, u3, helpdesk)
					wantRoles(t, f, admin2, user.AdministratorRole)
				}, "user.update"},
			{"remove_roles", user.BulkRequest{Action: user.BulkRemoveRoles, IDs: []string{u1, u3}, RoleIDs: []string{user.ViewerRole}},
				[]outcome{{u1, ""}, {u3, ""}},
				func(t *testing.T) {
					wantRoles(t, f, u1, helpdesk)
					wantRoles(t, f, u3, helpdesk)
				}, "user.update"},
			{"set_roles", user.BulkRequest{Action: user.BulkSetRoles, IDs: []string{u1, f.admin.ID}, RoleIDs: []string{user.ViewerRole}},
				[]outcome{{u1, ""}, {f.admin.ID, "auth.superior"}},
				func(t *testing.T) { wantRoles(t, f, u1, user.ViewerRole) }, "user.update"},
			{"delete", user.BulkRequest{Action: user.BulkDelete, IDs: []string{u3, dir, nobody, m.ID}},
				[]outcome{{u3, ""}, {dir, "user.directory_owned"}, {nobody, "user.not_found"}, {m.ID, "user.self"}},
				func(t *testing.T) {
					if f.exists(t, u3) || !f.exists(t, dir) {
						t.Errorf("after the bulk delete: u3 exists %v, dir exists %v", f.exists(t, u3), f.exists(t, dir))
					}
				}, "user.delete"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.audit(t, audit.Filter{Action: tc.action}))
				res, err := f.svc.Bulk(ctx, m, tc.req)
				if err != nil {
					t.Fatalf("Bulk = %v", err)
				}
				if len(res) != len(tc.want) {
					t.Fatalf("%d results, want %d: %+v", len(res), len(tc.want), res)
				}
				successes := 0
				for i, w := range tc.want {
					r := res[i]
					if r.ID != w.id {
						t.Errorf("result %d is about %s, want %s", i, r.ID, w.id)
					}
					switch {
					case w.code == "" && r.Error != nil:
						t.Errorf("result %d: %v, want success", i, r.Error)
					case w.code == "":
						successes++
						if (r.User == nil) != (tc.req.Action == user.BulkDelete) || r.User != nil && r.User.ID != w.id {
							t.Errorf("result %d carries user %+v", i, r.User)
						}
					case r.Error == nil:
						t.Errorf("result %d succeeded, want %s", i, w.code)
					default:
						if e, _ := errs.As(r.Error); e == nil || e.Code != w.code {
							t.Errorf("result %d: %v, want %s", i, r.Error, w.code)
						}
						if r.User != nil {
							t.Errorf("failed result %d carries a user", i)
						}
					}
				}
				want := successes
				if tc.name == "remove_roles" {
					want = 1 // u3 never held Viewer: removing it changes nothing, so nothing is written
				}
				if got := len(f.audit(t, audit.Filter{Action: tc.action})) - before; got != want {
					t.Errorf("%d %s audit events, want one per change (%d)", got, tc.action, want)
				}
				tc.check(t)
			})
		}
	})
}

func wantRoles(t *testing.T, f *fixture, id string, roles ...string) {
	t.Helper()
	d, err := f.svc.GetUser(context.Background(), f.admin, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := roleIDs(d, true); !slices.Equal(got, roles) {
		t.Errorf("%s has direct roles %v, want %v", d.Email, got, roles)
	}
}

func TestBulkRequestRefused(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.create(t, f.admin, "bulk@example.com", user.ViewerRole).ID
		tooMany := make([]string, user.MaxBulk+1)
		for i := range tooMany {
			tooMany[i] = u
		}
		for _, tc := range []struct {
			name        string
			a           user.Actor
			req         user.BulkRequest
			kind        errs.Kind
			code, field string
		}{
			{"more than MaxBulk", f.admin, user.BulkRequest{Action: user.BulkDisable, IDs: tooMany}, errs.Invalid, "bulk.too_many", "ids"},
			{"no ids", f.admin, user.BulkRequest{Action: user.BulkDisable}, errs.Invalid, "bulk.ids_required", "ids"},
			{"unknown action", f.admin, user.BulkRequest{Action: "explode", IDs: []string{u}}, errs.Invalid, "bulk.action_invalid", "action"},
			{"role action without roles", f.admin, user.BulkRequest{Action: user.BulkSetRoles, IDs: []string{u}}, errs.Invalid, "bulk.roles_required", "roles"},
			{"unknown role", f.admin, user.BulkRequest{Action: user.BulkAddRoles, IDs: []string{u}, RoleIDs: []string{"nope"}}, errs.Invalid, "role.unknown", "roles"},
			{"viewer disables", f.viewer, user.BulkRequest{Action: user.BulkDisable, IDs: []string{u}}, errs.Forbidden, "auth.permission_denied", ""},
			{"viewer changes roles", f.viewer, user.BulkRequest{Action: user.BulkAddRoles, IDs: []string{u}, RoleIDs: []string{user.ViewerRole}}, errs.Forbidden, "auth.permission_denied", ""},
			{"viewer sends resets", f.viewer, user.BulkRequest{Action: user.BulkResetPassword, IDs: []string{u}}, errs.Forbidden, "auth.permission_denied", ""},
			{"resets with no sender", f.admin, user.BulkRequest{Action: user.BulkResetPassword, IDs: []string{u}}, errs.Internal, "bulk.reset_unavailable", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var res []user.BulkResult
				err := f.unchanged(t, func() error {
					var err error
					res, err = f.svc.Bulk(ctx, tc.a, tc.req)
					return err
				})
				if tc.field != "" {
					wantErr(t, err, tc.kind, tc.code, tc.field)
				} else {
					wantErr(t, err, tc.kind, tc.code)
				}
				if res != nil {
					t.Errorf("a refused request gave results %+v", res)
				}
				if s := f.user(t, u).Status; s != user.Active {
					t.Errorf("the user is %s", s)
				}
			})
		}

		t.Run("exactly MaxBulk", func(t *testing.T) {
			ids := make([]string, user.MaxBulk)
			ids[0] = u
			for i := 1; i < len(ids); i++ {
				ids[i] = fmt.Sprintf("01900000-0000-7000-8000-%012d", i)
			}
			res, err := f.svc.Bulk(ctx, f.admin, user.BulkRequest{Action: user.BulkLock, IDs: ids})
			if err != nil || len(res) != user.MaxBulk {
				t.Fatalf("Bulk = %d results, %v; want %d", len(res), err, user.MaxBulk)
			}
			if res[0].Error != nil || !errs.Is(errs.NotFound, res[len(res)-1].Error) {
				t.Fatalf("first %v, last %v", res[0].Error, res[len(res)-1].Error)
			}
			if s := f.user(t, u).Status; s != user.Locked {
				t.Errorf("the user is %s, want locked", s)
			}
		})
	})
}

// The reset_password action goes to the sender the auth package sets, once per distinct user,
// each failure reported on its own.
func TestBulkResetPassword(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u1 := f.create(t, f.admin, "reset1@example.com", user.ViewerRole).ID
		u2 := f.create(t, f.admin, "reset2@example.com", user.ViewerRole).ID
		var sent []string
		f.svc.SetResetSender(func(_ context.Context, a user.Actor, id string) error {
			if a.ID != f.admin.ID {
				t.Errorf("sender called as %s", a.ID)
			}
			if id == "missing" {
				return errs.E(errs.NotFound, "user.not_found", "No such user.")
			}
			sent = append(sent, id)
			return nil
		})
		res, err := f.svc.Bulk(ctx, f.admin, user.BulkRequest{Action: user.BulkResetPassword, IDs: []string{u1, "missing", u2, u1}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sent, []string{u1, u2}) {
			t.Errorf("sent to %v, want %v", sent, []string{u1, u2})
		}
		if len(res) != 3 || res[0].Error != nil || !errs.Is(errs.NotFound, res[1].Error) || res[2].Error != nil {
			t.Errorf("results %+v", res)
		}
	})
}

// Concurrent role additions to one user never undo each other: each either lands or fails on
// its own, and the user ends with exactly the roles that landed.
func TestBulkAddRolesConcurrently(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.create(t, f.admin, "busy@example.com", user.ViewerRole).ID
		var roles []string
		for i := range 8 {
			roles = append(roles, mustRole(t, f, fmt.Sprintf("Team %d", i), user.UsersRead).ID)
		}
		landed := make([]bool, len(roles))
		var wg sync.WaitGroup
		for i, r := range roles {
			wg.Go(func() {
				res, err := f.svc.Bulk(ctx, f.admin, user.BulkRequest{Action: user.BulkAddRoles, IDs: []string{u}, RoleIDs: []string{r}})
				if err != nil {
					t.Errorf("bulk: %v", err)
					return
				}
				if res[0].Error == nil {
					landed[i] = true
				} else if e, ok := errs.As(res[0].Error); !ok || (e.Kind != errs.PreconditionFailed && e.Kind != errs.Conflict) {
					t.Errorf("add %s: %v, want success or a stale-version refusal", r, res[0].Error)
				}
			})
		}
		wg.Wait()
		want := []string{user.ViewerRole}
		for i, r := range roles {
			if landed[i] {
				want = append(want, r)
			}
		}
		d, err := f.svc.GetUser(ctx, f.admin, u)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range d.Roles {
			got = append(got, g.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("roles %v, want the %d that landed: %v", got, len(want)-1, want)
		}
	})
}

func TestMatching(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for i := range 3 {
			f.create(t, f.admin, fmt.Sprintf("match%d@example.com", i))
		}
		ids, err := f.svc.Matching(ctx, f.admin, user.Filter{Q: "match", Limit: 1})
		if err != nil || len(ids) != 3 {
			t.Fatalf("Matching: %v, %v; want the 3 users", ids, err)
		}
		nobody := f.actor(t, f.create(t, f.admin, "nobody@example.com").ID)
		if _, err := f.svc.Matching(ctx, nobody, user.Filter{Q: "match"}); !errs.Is(errs.Forbidden, err) {
			t.Fatalf("Matching without users.read: %v", err)
		}
		for i := range user.MaxBulk {
			f.insert(t, user.User{Email: fmt.Sprintf("many%04d@example.com", i), Username: fmt.Sprintf("many%04d", i), Source: user.Local})
		}
		if ids, err := f.svc.Matching(ctx, f.admin, user.Filter{Q: "many"}); err != nil || len(ids) != user.MaxBulk {
			t.Fatalf("Matching %d users: %d, %v", user.MaxBulk, len(ids), err)
		}
		f.insert(t, user.User{Email: "many-last@example.com", Username: "many-last", Source: user.Local})
		if _, err := f.svc.Matching(ctx, f.admin, user.Filter{Q: "many"}); !errs.Is(errs.Invalid, err) {
			t.Fatalf("Matching more than MaxBulk: %v", err)
		}
	})
}
