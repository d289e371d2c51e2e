package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
		// In creation order (the export's default), where every user here was made at the same
		// instant: each batch goes on from the last one's time and id, and no one is read twice
		// or left out.
		seen := map[string]bool{}
		err = s.EachUser(ctx, user.Filter{Sort: "created_at"}, func(batch []*user.Detail) error {
			for _, d := range batch {
				if seen[d.ID] {
					return fmt.Errorf("%s read twice", d.Email)
				}
				seen[d.ID] = true
			}
			return nil
		})
		if err != nil || len(seen) != 2500 {
			t.Fatalf("created_at order: %d users, %v", len(seen), err)
		}
		if err := s.EachUser(ctx, user.Filter{Q: "each"}, func([]*user.Detail) error { return nil }); err == nil {
			t.Error("EachUser took a search")
		}

		// More exports at once than there are read connections, each reading more while it
		// handles a batch (as an export looks up managers): none holds a connection meanwhile.
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errc := make(chan error, 12)
		for range 12 {
			wg.Go(func() {
				errc <- s.EachUser(ctx, user.Filter{Sort: "name"}, func(batch []*user.Detail) error {
					_, err := s.User(ctx, batch[0].ID)
					return err
				})
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("concurrent exports: %v", err)
			}
		}
	})
}
