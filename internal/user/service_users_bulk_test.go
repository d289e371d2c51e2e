package user_test

import (
	"context"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// CreateUsers refuses, input by input, what CreateUser refuses, and writes the rest as
// CreateUser writes each: roles, groups, one user.create event each.
func TestCreateUsers(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		g, err := f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("Ops")})
		if err != nil {
			t.Fatal(err)
		}
		in := func(email string, roles ...string) user.CreateInput {
			c := user.CreateInput{Profile: user.Profile{Email: ptr(email), FirstName: ptr("F"), LastName: ptr("L")}}
			if roles != nil {
				c.RoleIDs = roles
			}
			return c
		}
		withGroup := in("grouped@example.com")
		withGroup.GroupIDs = []string{g.ID}
		lookalike := in("vіewer@example.com")
		lookalike.Username = ptr("someone")
		noNames := in("nameless@example.com")
		noNames.FirstName = nil
		ins := []user.CreateInput{
			in("one@example.com"),    // 0: created, Viewer
			in("ONE@example.com"),    // 1: the same address as 0
			in("viewer@example.com"), // 2: taken by an existing user
			lookalike,                // 3: a Cyrillic і: looks like an existing user's address
			in("boss@example.com", user.AdministratorRole), // 4: beyond a User Manager's rights
			in("not an email"), // 5: invalid
			withGroup,          // 6: created, in Ops
			noNames,            // 7: names are required
		}
		want := []string{"", "user.email_taken", "user.email_taken", "user.lookalike", "auth.escalation", "user.invalid", "", "user.invalid"}
		before, err := f.svc.Counts(ctx, f.admin)
		if err != nil {
			t.Fatal(err)
		}
		// CheckUsers says the same and writes nothing.
		checked, err := f.svc.CheckUsers(ctx, f.manager, ins)
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := f.svc.Counts(ctx, f.admin); after.Total != before.Total {
			t.Fatalf("CheckUsers wrote users: %d, then %d", before.Total, after.Total)
		}
		res, err := f.svc.CreateUsers(ctx, f.manager, ins)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res {
			if (checked[i].Err == nil) != (res[i].Err == nil) {
				t.Errorf("input %d: CheckUsers %v, CreateUsers %v", i, checked[i].Err, res[i].Err)
			}
		}
		for i, r := range res {
			code := ""
			if e, ok := errs.As(r.Err); ok {
				code = e.Code
			} else if r.Err != nil {
				t.Fatalf("input %d: %v", i, r.Err)
			}
			if code != want[i] && !(want[i] == "user.invalid" && code != "") {
				t.Errorf("input %d (%s): %q, want %q", i, *ins[i].Email, code, want[i])
			}
			if (r.User != nil) != (want[i] == "") {
				t.Errorf("input %d: user %v with error %v", i, r.User, r.Err)
			}
		}
		one, err := f.svc.GetUser(ctx, f.admin, res[0].User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(one.Roles) != 1 || one.Roles[0].ID != user.ViewerRole || one.Status != user.Active {
			t.Fatalf("one: %+v roles %+v", one.User, one.Roles)
		}
		grouped, err := f.svc.GetUser(ctx, f.admin, res[6].User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(grouped.Groups) != 1 || grouped.Groups[0].ID != g.ID {
			t.Fatalf("grouped: groups %+v", grouped.Groups)
		}
		events, _, err := f.svc.Audit(ctx, f.admin, audit.Filter{Action: "user.create", ActorID: f.manager.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 {
			t.Fatalf("%d user.create events by the manager, want 2", len(events))
		}
		if _, err := f.svc.CreateUsers(ctx, f.viewer, ins[:1]); !errs.Is(errs.Forbidden, err) {
			t.Fatalf("a Viewer: %v", err)
		}
	})
}
