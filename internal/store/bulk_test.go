package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// bulkT0 is whole microseconds in UTC, which both databases keep exactly.
var bulkT0 = time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)

// bulkPopulation returns n varied users: every status and source, unicode names, managers
// written earlier in the same batch, custom values on some, nullable columns both ways.
func bulkPopulation(prefix string, n int) []*user.User {
	firsts := []string{"Zoë", "José", "Åsa", "Łukasz", "Nguyễn", "Mary"}
	lasts := []string{"Ærø", "Gómez", "Öztürk", "O'Brien", "Smith", "VAN DER BERG"}
	statuses := []user.Status{user.Active, user.Invited, user.Locked, user.Disabled}
	sources := []user.Source{user.Local, user.Directory, user.SCIM}
	out := make([]*user.User, n)
	for i := range n {
		created := bulkT0.Add(time.Duration(i) * time.Minute)
		u := &user.User{
			ID:        uuid.NewString(),
			Username:  fmt.Sprintf("%s.User%04d", prefix, i),
			Email:     fmt.Sprintf("%s.Mail%04d@Example.ORG", prefix, i),
			FirstName: firsts[i%len(firsts)],
			LastName:  fmt.Sprintf("%s%s%04d", lasts[i%len(lasts)], prefix, i),
			Status:    statuses[i%len(statuses)],
			Source:    sources[i%len(sources)],
			CreatedAt: created,
			UpdatedAt: created.Add(time.Hour),
			Version:   int64(1 + i%3),
		}
		if i%2 == 0 {
			u.Phone = fmt.Sprintf("+49 30 %07d", i)
			u.Department = "Research"
			u.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
		}
		if u.Source != user.Local {
			u.ExternalID = fmt.Sprintf("%s-ext-%d", prefix, i)
			u.ManagerName = "Ada Lovelace"
		}
		if i >= 10 && i%5 == 0 {
			u.ManagerID = out[i-10].ID
		}
		if u.Status != user.Invited {
			a := created.Add(2 * time.Hour)
			u.ActivatedAt = &a
			if i%3 == 0 {
				l := created.Add(48 * time.Hour)
				u.LastLoginAt = &l
			}
		}
		if i%4 != 3 {
			u.Custom = map[string]string{"cost_center": fmt.Sprintf("CC-%d", i%7)}
			if i%8 == 0 {
				u.Custom["employment"] = "contractor"
			}
		}
		out[i] = u
	}
	return out
}

func bulkSameUser(t *testing.T, got, want *user.User) {
	t.Helper()
	sameAt := func(a, b *time.Time) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(*b) }
	gotCustom, wantCustom := fmt.Sprint(got.Custom), fmt.Sprint(want.Custom)
	if want.Custom == nil {
		wantCustom = fmt.Sprint(map[string]string{})
	}
	if got.ID != want.ID || got.Username != want.Username || got.Email != want.Email ||
		got.FirstName != want.FirstName || got.LastName != want.LastName || got.Phone != want.Phone ||
		got.Department != want.Department || got.ManagerID != want.ManagerID || got.ManagerName != want.ManagerName ||
		got.Status != want.Status || got.Source != want.Source || got.ExternalID != want.ExternalID ||
		got.DefaultAdmin != want.DefaultAdmin || got.PasswordHash != want.PasswordHash || got.Version != want.Version ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
		got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC ||
		!sameAt(got.LastLoginAt, want.LastLoginAt) || !sameAt(got.ActivatedAt, want.ActivatedAt) || gotCustom != wantCustom {
		t.Errorf("user %s =\n%+v\nwant\n%+v", want.Username, got, want)
	}
}

func bulkFields(t *testing.T, s *store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.SyncBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []user.Field{
		{Name: "cost_center", Label: "Cost centre", Type: user.TextField},
		{Name: "employment", Label: "Employment", Type: user.EnumField, Options: []string{"employee", "contractor"}},
	} {
		f.Version, f.CreatedAt, f.UpdatedAt = 1, bulkT0, bulkT0
		if err := s.InsertField(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInsertUsers writes more users than one statement holds, through both paths (COPY on
// PostgreSQL outside a transaction, multi-row INSERT inside one), and reads every one back.
func TestInsertUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		bulkFields(t, s)
		alone := bulkPopulation("a", 1001)
		if err := s.InsertUsers(ctx, alone, user.ViewerRole); err != nil {
			t.Fatalf("InsertUsers alone: %v", err)
		}
		joined := bulkPopulation("j", 437)
		err := s.InTx(ctx, func(ctx context.Context) error {
			return s.InsertUsers(ctx, joined, user.ViewerRole, user.AuditorRole)
		})
		if err != nil {
			t.Fatalf("InsertUsers in InTx: %v", err)
		}

		all := append(append([]*user.User{}, alone...), joined...)
		for _, want := range all {
			got, err := s.User(ctx, want.ID)
			if err != nil {
				t.Fatalf("User %s: %v", want.Username, err)
			}
			bulkSameUser(t, got, want)
		}
		if u, err := s.UserByLogin(ctx, "A.MAIL0999@example.org"); err != nil || u.ID != alone[999].ID {
			t.Errorf("UserByLogin by email in other case = %v, %v; want %s", u, err, alone[999].ID)
		}

		roles, err := s.UserRoles(ctx, []string{alone[5].ID, joined[5].ID})
		if err != nil {
			t.Fatal(err)
		}
		roleIDs := func(id string) string {
			var ids []string
			for _, g := range roles[id] {
				if !g.Direct {
					t.Errorf("role %s of %s is not direct", g.ID, id)
				}
				ids = append(ids, g.ID)
			}
			return strings.Join(ids, ",")
		}
		if got := roleIDs(alone[5].ID); got != "viewer" {
			t.Errorf("roles of a user written alone = %s, want viewer", got)
		}
		if got := roleIDs(joined[5].ID); got != "auditor,viewer" {
			t.Errorf("roles of a user written in a transaction = %s, want auditor,viewer", got)
		}

		// ListUsers finds them through every search column, case-insensitively.
		tests := []struct {
			name string
			f    user.Filter
			want []*user.User
		}{
			{"last name prefix", user.Filter{Q: "ÆRØA0006"}, []*user.User{alone[6]}},
			{"full name prefix", user.Filter{Q: "zoë ærøa0012"}, []*user.User{alone[12]}},
			{"email prefix", user.Filter{Q: "J.MAIL0436@"}, []*user.User{joined[436]}},
			{"username prefix", user.Filter{Q: "a.user100"}, []*user.User{alone[1000]}},
			{"phone prefix", user.Filter{Q: "+49 30 0000998"}, []*user.User{alone[998]}},
			{"status and name", user.Filter{Q: "JOSÉ gómezj00", Status: user.Invited}, []*user.User{joined[1], joined[13],
				joined[25], joined[37], joined[49], joined[61], joined[73], joined[85], joined[97]}},
			{"custom value", user.Filter{Q: "o'brienj004", Custom: map[string]string{"cost_center": "CC-3"}}, []*user.User{joined[45]}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.Sort, tc.f.Limit = "name", 50
				got, _, err := s.ListUsers(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("ListUsers(%+v) gave %d users, want %d", tc.f, len(got), len(tc.want))
				}
				for i := range got {
					bulkSameUser(t, got[i].User, tc.want[i])
				}
			})
		}

		// Every user once, in order, across pages.
		seen := map[string]bool{}
		f := user.Filter{Sort: "-created_at", Limit: 200}
		var prev time.Time
		for page := 0; ; page++ {
			got, next, err := s.ListUsers(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range got {
				if seen[u.ID] {
					t.Fatalf("user %s listed twice", u.Username)
				}
				if !prev.IsZero() && u.CreatedAt.After(prev) {
					t.Fatalf("page %d is out of order", page)
				}
				seen[u.ID], prev = true, u.CreatedAt
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if len(seen) != len(all) {
			t.Errorf("the pages listed %d users, want %d", len(seen), len(all))
		}
	})
}

// TestInsertUsersAllOrNothing checks that one clash refuses the whole batch, on both paths.
func TestInsertUsersAllOrNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		bulkFields(t, s)
		if err := s.InsertUsers(ctx, bulkPopulation("x", 3)); err != nil {
			t.Fatal(err)
		}
		for _, inTx := range []bool{false, true} {
			t.Run(fmt.Sprintf("in transaction %v", inTx), func(t *testing.T) {
				batch := bulkPopulation(fmt.Sprintf("y%v", inTx), 900)
				batch[850].Email = "X.mail0002@example.org"
				insert := func(ctx context.Context) error { return s.InsertUsers(ctx, batch, user.ViewerRole) }
				var err error
				if inTx {
					err = s.InTx(ctx, insert)
				} else {
					err = insert(ctx)
				}
				e, ok := errs.As(err)
				if !ok || e.Kind != errs.Conflict || e.Code != "user.email_taken" {
					t.Fatalf("InsertUsers with a taken email = %v, want a user.email_taken conflict", err)
				}
				if _, err := s.User(ctx, batch[0].ID); !errs.Is(errs.NotFound, err) {
					t.Errorf("the first user of the refused batch was stored: %v", err)
				}
			})
		}
	})
}

func TestAddGroupMembersBulk(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		bulkFields(t, s)
		users := bulkPopulation("g", 6000)
		if err := s.InsertUsers(ctx, users, user.ViewerRole); err != nil {
			t.Fatal(err)
		}
		var groups []*user.Group
		for i := range 2 {
			g := &user.Group{ID: uuid.NewString(), Name: fmt.Sprintf("Group %d", i), Source: user.Local,
				Version: 1, CreatedAt: bulkT0, UpdatedAt: bulkT0}
			if err := s.InsertGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
			groups = append(groups, g)
		}
		if err := s.AddGroupMembers(ctx, groups[0].ID, []string{users[0].ID}); err != nil {
			t.Fatal(err)
		}
		// More rows than one statement holds; one already there.
		var ms []store.Membership
		for i, u := range users {
			ms = append(ms, store.Membership{GroupID: groups[0].ID, UserID: u.ID})
			if i%3 == 0 {
				ms = append(ms, store.Membership{GroupID: groups[1].ID, UserID: u.ID})
			}
		}
		if err := s.AddGroupMembersBulk(ctx, ms); err != nil {
			t.Fatalf("AddGroupMembersBulk: %v", err)
		}
		for i, want := range []int64{6000, 2000} {
			g, err := s.Group(ctx, groups[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if g.MemberCount != want {
				t.Errorf("group %d has %d members, want %d", i, g.MemberCount, want)
			}
		}
		got, _, err := s.ListUsers(ctx, user.Filter{GroupID: groups[1].ID, Q: "g.user000", Sort: "username", Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 || got[0].ID != users[0].ID || got[3].ID != users[9].ID {
			t.Errorf("members of group 1 named g.user000* = %d users, want g.User0000, 0003, 0006, 0009", len(got))
		}
	})
}

// A directory group may have tens of thousands of members: adding and removing them all at once
// must stay within what one statement of either database holds.
func TestGroupMembersMany(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		ctx := context.Background()
		bulkFields(t, s)
		const n = 40_000
		users := bulkPopulation("m", n)
		if err := s.InsertUsers(ctx, users, user.ViewerRole); err != nil {
			t.Fatal(err)
		}
		g := &user.Group{ID: uuid.NewString(), Name: "Everyone", Source: user.Local, Version: 1, CreatedAt: bulkT0, UpdatedAt: bulkT0}
		if err := s.InsertGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		ids := make([]string, n)
		for i, u := range users {
			ids[i] = u.ID
		}
		count := func() int64 {
			t.Helper()
			got, err := s.Group(ctx, g.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.MemberCount
		}
		if err := s.AddGroupMembers(ctx, g.ID, ids); err != nil {
			t.Fatalf("AddGroupMembers of %d users: %v", n, err)
		}
		if got := count(); got != n {
			t.Fatalf("the group has %d members after adding %d, want %d", got, n, n)
		}
		m, err := s.UserGroups(ctx, []string{ids[n-1]})
		if err != nil {
			t.Fatal(err)
		}
		if len(m[ids[n-1]]) != 1 {
			t.Errorf("the last user added is in %v, want the group", m[ids[n-1]])
		}
		if err := s.RemoveGroupMembers(ctx, g.ID, ids[1:]); err != nil {
			t.Fatalf("RemoveGroupMembers of %d users: %v", n-1, err)
		}
		if got := count(); got != 1 {
			t.Errorf("the group has %d members after removing all but one, want 1", got)
		}
		if m, err = s.UserGroups(ctx, []string{ids[n-1]}); err != nil {
			t.Fatal(err)
		}
		if len(m[ids[n-1]]) != 0 {
			t.Errorf("the last user removed is still in %v", m[ids[n-1]])
		}
	})
}
