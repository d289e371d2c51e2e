package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// grantFixture is a user with direct roles, roles through groups (one of them both), a group
// that grants nothing and custom values; and a user with none of these.
type grantFixture struct {
	alice, bob        *user.User
	zeta, mid, alpha  *user.Role
	beta, team, gamma *user.Group
}

func newGrantFixture(t *testing.T, s *store.Store) grantFixture {
	t.Helper()
	ctx := context.Background()
	mustInsertField(t, s, "badge", user.TextField)
	mustInsertField(t, s, "floor", user.NumberField)
	// Byte order of the names (roles are sorted so): "Mid" < "Zeta" < "alpha".
	zeta := mustInsertRole(t, s, "Zeta", user.UsersRead)
	mid := mustInsertRole(t, s, "Mid", user.UsersLock)
	alpha := mustInsertRole(t, s, "alpha", user.AuditRead)
	mustInsertRole(t, s, "Unused", user.SettingsManage)
	// By name_lower (groups are sorted so): "alpha team" < "beta" < "gamma".
	beta := mustInsertGroup(t, s, "beta")
	team := mustInsertGroup(t, s, "Alpha Team")
	gamma := mustInsertGroup(t, s, "gamma")
	if err := s.SetGroupRoles(ctx, beta.ID, []string{alpha.ID, mid.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGroupRoles(ctx, team.ID, []string{alpha.ID}); err != nil {
		t.Fatal(err)
	}
	a := newUser("alice")
	a.Custom = map[string]string{"badge": "A-17", "floor": "3"}
	alice := mustInsertUser(t, s, a)
	bob := mustInsertUser(t, s, newUser("bob"))
	if err := s.SetUserRoles(ctx, alice.ID, []string{zeta.ID, mid.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserGroups(ctx, alice.ID, []string{gamma.ID, beta.ID, team.ID}); err != nil {
		t.Fatal(err)
	}
	return grantFixture{alice: alice, bob: bob, zeta: zeta, mid: mid, alpha: alpha, beta: beta, team: team, gamma: gamma}
}

// oldDetail reads a user the way the service did before UserDetail: four queries.
func oldDetail(ctx context.Context, s *store.Store, id string) (*user.Detail, error) {
	u, err := s.User(ctx, id)
	if err != nil {
		return nil, err
	}
	roles, err := s.UserRoles(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	groups, err := s.UserGroups(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	return &user.Detail{User: u, Roles: roles[id], Groups: groups[id]}, nil
}

// describeGrants writes roles and groups as text a failure can show.
func describeGrants(d *user.Detail) string {
	var b strings.Builder
	for _, r := range d.Roles {
		fmt.Fprintf(&b, "%s(direct=%v inherited=%v via=%v %v) ", r.Name, r.Direct, r.Inherited, r.Via, r.Permissions)
	}
	fmt.Fprintf(&b, "groups=%v custom=%v", d.Groups, d.Custom)
	return b.String()
}

func TestUserDetail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		f := newGrantFixture(t, s)
		g := func(name string) string { return "{" + groupID(t, s, name) + " " + name + "}" }
		want := map[string]string{
			f.alice.ID: "Mid(direct=true inherited=false via=[" + g("beta") + "] users.lock) " +
				"Zeta(direct=true inherited=false via=[] users.read) " +
				"alpha(direct=false inherited=true via=[" + g("Alpha Team") + " " + g("beta") + "] audit.read) " +
				"groups=[" + g("Alpha Team") + " " + g("beta") + " " + g("gamma") + "] custom=map[badge:A-17 floor:3]",
			f.bob.ID: "groups=[] custom=map[]",
		}
		for _, u := range []*user.User{f.alice, f.bob} {
			for _, inTx := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s in tx %v", u.Username, inTx), func(t *testing.T) {
					var got, old *user.Detail
					read := func(ctx context.Context) error {
						var err error
						if got, err = s.UserDetail(ctx, u.ID); err != nil {
							return err
						}
						old, err = oldDetail(ctx, s, u.ID)
						return err
					}
					var err error
					if inTx {
						err = s.InTx(ctx, read)
					} else {
						err = read(ctx)
					}
					if err != nil {
						t.Fatal(err)
					}
					if d := describeGrants(got); d != want[u.ID] {
						t.Errorf("UserDetail:\n got %s\nwant %s", d, want[u.ID])
					}
					if !reflect.DeepEqual(got, old) {
						t.Errorf("UserDetail differs from User + UserRoles + UserGroups:\n got %+v %s\n old %+v %s",
							got.User, describeGrants(got), old.User, describeGrants(old))
					}
				})
			}
		}
		// A list's users, read together, get the same grants as each read alone.
		roles, err := s.UserRoles(ctx, []string{f.bob.ID, f.alice.ID})
		if err != nil {
			t.Fatal(err)
		}
		groups, err := s.UserGroups(ctx, []string{f.bob.ID, f.alice.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []*user.User{f.alice, f.bob} {
			d, err := s.UserDetail(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(roles[u.ID], d.Roles) || !reflect.DeepEqual(groups[u.ID], d.Groups) {
				t.Errorf("%s in a list: %v %v; alone: %s", u.Username, roles[u.ID], groups[u.ID], describeGrants(d))
			}
		}

		_, err = s.UserDetail(ctx, "no-such-user")
		wantErr(t, err, errs.NotFound, "user.not_found", "")
	})
}

func groupID(t *testing.T, s *store.Store, name string) string {
	t.Helper()
	var id string
	if err := s.DB().QueryRowContext(context.Background(), `SELECT id FROM groups WHERE name = $1`, name).Scan(&id); err != nil {
		t.Fatalf("group %s: %v", name, err)
	}
	return id
}
