package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// EachUser hands over every user a filter selects, in its order, a thousand at a time, with
// the columns an export writes and their roles resolved; a search it leaves to ListUsers.
func TestEachUser(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		must(t, s.SyncBuiltinRoles(ctx))
		var users []*user.User
		for i := range 2500 {
			u := newUser(fmt.Sprintf("each%04d", i))
			if i%5 == 0 {
				u.Status = user.Disabled
			}
			u.Department = "Dept " + fmt.Sprint(i%7)
			users = append(users, u)
		}
		must(t, s.InsertUsers(ctx, users, user.ViewerRole))

		var sizes []int
		var emails []string
		err := s.EachUser(ctx, user.Filter{Status: user.Active, Sort: "-email"}, func(batch []*user.Detail) error {
			sizes = append(sizes, len(batch))
			for _, d := range batch {
				emails = append(emails, d.Email)
				if len(d.Roles) != 1 || d.Roles[0].ID != user.ViewerRole || !d.Roles[0].Direct || !strings.HasPrefix(d.Department, "Dept ") {
					t.Fatalf("%s: roles %+v, department %q", d.Email, d.Roles, d.Department)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, []int{1000, 1000}) {
			t.Errorf("batches of %v, want two of 1000 (2000 active users)", sizes)
		}
		if !slices.IsSortedFunc(emails, func(a, b string) int { return strings.Compare(b, a) }) || len(emails) != 2000 {
			t.Errorf("%d emails, not in descending order", len(emails))
		}
		if err := s.EachUser(ctx, user.Filter{Q: "each"}, func([]*user.Detail) error { return nil }); err == nil {
			t.Error("EachUser took a search")
		}
	})
}
