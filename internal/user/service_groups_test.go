package user_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/user"
)

func TestEffectiveRoles(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		get := func(t *testing.T, id string) *user.Detail {
			t.Helper()
			d, err := f.svc.GetUser(ctx, f.admin, id)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		grant := func(d *user.Detail, role string) *user.RoleGrant {
			for i := range d.Roles {
				if d.Roles[i].ID == role {
					return &d.Roles[i]
				}
			}
			return nil
		}
		listedWithAuditor := func(t *testing.T, id string) bool {
			t.Helper()
			page, err := f.svc.ListUsers(ctx, f.admin, user.Filter{RoleID: user.AuditorRole})
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(page.Users, func(d *user.Detail) bool { return d.ID == id })
		}

		for i, tc := range []struct {
			name   string
			leave  func(g *user.Group, id string) error
			direct bool // the user also holds Auditor directly
			member bool // the user is still in the group afterwards
		}{
			{"leave through ChangeMembers", func(g *user.Group, id string) error {
				_, err := f.svc.ChangeMembers(ctx, f.admin, g.ID, false, []string{id})
				return err
			}, false, false},
			{"leave through UpdateUser", func(g *user.Group, id string) error {
				_, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{GroupIDs: &[]string{}})
				return err
			}, false, false},
			{"the group loses the role", func(g *user.Group, id string) error {
				_, err := f.svc.UpdateGroup(ctx, f.admin, g.ID, user.AnyVersion, user.GroupInput{RoleIDs: &[]string{}})
				return err
			}, false, true},
			{"the group is deleted", func(g *user.Group, id string) error {
				return f.svc.DeleteGroup(ctx, f.admin, g.ID, user.AnyVersion)
			}, false, false},
			{"also held directly", func(g *user.Group, id string) error {
				_, err := f.svc.ChangeMembers(ctx, f.admin, g.ID, false, []string{id})
				return err
			}, true, false},
		} {
			email := fmt.Sprintf("member%d@example.com", i)
			t.Run(tc.name, func(t *testing.T) {
				roles := []string{user.ViewerRole}
				if tc.direct {
					roles = append(roles, user.AuditorRole)
				}
				id := f.create(t, f.admin, email, roles...).ID
				g := mustGroup(t, f, f.admin, "Auditors "+tc.name, user.AuditorRole)
				if _, err := f.svc.ChangeMembers(ctx, f.admin, g.ID, true, []string{id}); err != nil {
					t.Fatal(err)
				}

				d := get(t, id)
				a := grant(d, user.AuditorRole)
				if a == nil || a.Direct != tc.direct || a.Inherited == tc.direct ||
					!slices.Equal(a.Via, []user.GroupRef{{ID: g.ID, Name: g.Name}}) {
					t.Fatalf("the Auditor grant is %+v, want via %s, direct %v", a, g.Name, tc.direct)
				}
				if got, want := roleIDs(d, true), slices.Sorted(slices.Values(roles)); !slices.Equal(got, want) {
					t.Errorf("direct roles %v, want %v", got, want)
				}
				if !tc.direct && !slices.Equal(roleIDs(d, false), []string{user.AuditorRole}) {
					t.Errorf("inherited roles %v, want [auditor]", roleIDs(d, false))
				}
				if !slices.Equal(d.Groups, []user.GroupRef{{ID: g.ID, Name: g.Name}}) {
					t.Errorf("groups %v, want %s", d.Groups, g.Name)
				}
				if !listedWithAuditor(t, id) {
					t.Error("ListUsers by role Auditor leaves the member out")
				}
				if p, _ := f.st.EffectivePermissions(ctx, id); !p.Has(user.AuditRead) {
					t.Errorf("effective permissions %v lack audit.read", p)
				}
				// Replacing the direct roles does not touch the inherited one.
				if _, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{RoleIDs: &roles}); err != nil {
					t.Fatal(err)
				}
				if grant(get(t, id), user.AuditorRole) == nil {
					t.Fatal("replacing the direct roles removed the inherited one")
				}

				if err := tc.leave(g, id); err != nil {
					t.Fatal(err)
				}
				d = get(t, id)
				a = grant(d, user.AuditorRole)
				switch {
				case tc.direct && (a == nil || !a.Direct || a.Inherited || len(a.Via) != 0):
					t.Errorf("after leaving, the Auditor grant is %+v, want direct only", a)
				case !tc.direct && a != nil:
					t.Errorf("after leaving, the user still has %+v", a)
				}
				if member := len(d.Groups) != 0; member != tc.member {
					t.Errorf("after leaving, groups %v", d.Groups)
				}
				if got := listedWithAuditor(t, id); got != tc.direct {
					t.Errorf("ListUsers by role Auditor lists the user: %v, want %v", got, tc.direct)
				}
				if p, _ := f.st.EffectivePermissions(ctx, id); p.Has(user.AuditRead) != tc.direct {
					t.Errorf("effective permissions %v after leaving", p)
				}
			})
		}
	})
}
