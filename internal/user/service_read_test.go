package user_test

import (
	"context"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

func TestReadPermissions(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		nobodyID := f.create(t, f.admin, "noroles@example.com").ID
		none := f.actor(t, nobodyID)
		if len(none.Permissions) != 0 {
			t.Fatalf("a user without roles holds %v", none.Permissions)
		}
		for _, tc := range []struct {
			name string
			a    user.Actor
			do   func(a user.Actor) error
			ok   bool
		}{
			{"list users without users.read", none, func(a user.Actor) error { _, err := f.svc.ListUsers(ctx, a, user.Filter{}); return err }, false},
			{"list users as a viewer", f.viewer, func(a user.Actor) error { _, err := f.svc.ListUsers(ctx, a, user.Filter{}); return err }, true},
			{"get yourself without users.read", none, func(a user.Actor) error { _, err := f.svc.GetUser(ctx, a, nobodyID); return err }, true},
			{"get someone else without users.read", none, func(a user.Actor) error { _, err := f.svc.GetUser(ctx, a, f.viewer.ID); return err }, false},
			{"get someone else as a viewer", f.viewer, func(a user.Actor) error { _, err := f.svc.GetUser(ctx, a, nobodyID); return err }, true},
			{"counts without users.read", none, func(a user.Actor) error { _, err := f.svc.Counts(ctx, a); return err }, false},
			{"roles without users.read", none, func(a user.Actor) error { _, err := f.svc.Roles(ctx, a); return err }, false},
			{"groups without users.read", none, func(a user.Actor) error { _, _, err := f.svc.ListGroups(ctx, a, user.GroupFilter{}); return err }, false},
			{"fields without users.read", none, func(a user.Actor) error { _, err := f.svc.Fields(ctx, a); return err }, false},
			{"update yourself without users.write", none, func(a user.Actor) error {
				_, err := f.svc.UpdateUser(ctx, a, nobodyID, user.AnyVersion, user.Patch{Profile: user.Profile{Phone: ptr("1")}})
				return err
			}, false},
			{"create as a viewer", f.viewer, func(a user.Actor) error {
				_, err := f.svc.CreateUser(ctx, a, user.CreateInput{Profile: user.Profile{Email: ptr("v@example.com"), FirstName: ptr("V"), LastName: ptr("V")}})
				return err
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.do(tc.a)
				if tc.ok {
					if err != nil {
						t.Fatalf("= %v, want success", err)
					}
					return
				}
				wantErr(t, err, errs.Forbidden, "auth.permission_denied")
			})
		}
	})
}

func TestListUsers(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, e := range []string{"pat.one@example.com", "pat.two@example.com", "pat.three@example.com"} {
			f.create(t, f.admin, e)
		}
		locked := f.create(t, f.admin, "locked@example.com").ID
		if _, err := f.svc.ChangeStatus(ctx, f.admin, locked, user.Lock); err != nil {
			t.Fatal(err)
		}
		emails := func(p *user.Page) []string {
			var out []string
			for _, d := range p.Users {
				out = append(out, d.Email)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    user.Filter
			want []string
		}{
			{"prefix of the email, any case", user.Filter{Q: "PAT.", Sort: "email"}, []string{"pat.one@example.com", "pat.three@example.com", "pat.two@example.com"}},
			{"reversed", user.Filter{Q: "pat.", Sort: "-email"}, []string{"pat.two@example.com", "pat.three@example.com", "pat.one@example.com"}},
			{"status", user.Filter{Status: user.Locked}, []string{"locked@example.com"}},
			{"role", user.Filter{RoleID: user.UserManagerRole}, []string{"manager@example.com"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p, err := f.svc.ListUsers(ctx, f.viewer, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := emails(p); !slices.Equal(got, tc.want) || p.Next != "" {
					t.Fatalf("ListUsers = %v (next %q), want %v", got, p.Next, tc.want)
				}
			})
		}
		t.Run("pages", func(t *testing.T) {
			var all []string
			fl := user.Filter{Sort: "email", Limit: 2}
			for range 10 {
				p, err := f.svc.ListUsers(ctx, f.viewer, fl)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, emails(p)...)
				if p.Next == "" {
					break
				}
				fl.Cursor = p.Next
			}
			want := []string{"locked@example.com", "manager@example.com", "pat.one@example.com", "pat.three@example.com",
				"pat.two@example.com", "root@example.com", "viewer@example.com"}
			if !slices.Equal(all, want) {
				t.Fatalf("pages gave %v, want %v", all, want)
			}
		})
		for _, tc := range []struct {
			name, field, code string
			f                 user.Filter
		}{
			{"unknown status", "status", "filter.status_invalid", user.Filter{Status: "gone"}},
			{"unknown source", "source", "filter.source_invalid", user.Filter{Source: "ldap"}},
			{"unknown sort", "sort", "filter.sort_invalid", user.Filter{Sort: "password"}},
			{"limit too big", "limit", "filter.limit_invalid", user.Filter{Limit: 1001}},
			{"broken cursor", "cursor", "filter.cursor_invalid", user.Filter{Cursor: "not-a-cursor"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.ListUsers(ctx, f.viewer, tc.f)
				wantErr(t, err, errs.Invalid, tc.code, tc.field)
			})
		}
	})
}
