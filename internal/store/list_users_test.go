package store_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// population is a few hundred users with their effective roles and groups, known in memory so
// that every list can be checked against a plain Go filter and sort.
type population struct {
	users        []*user.User
	roleA, roleB string // granted directly and through groups
	roleC        string // granted to nobody
	g1, g2, g3   string // g1 grants roleA, g3 grants roleB, g2 grants nothing
	roles        map[string][]string
	groups       map[string][]string
}

const populationSize = 300

// The names repeat (so sorts need the id tie-break) and mix case and scripts (so searches must
// fold case the same way for every alphabet).
var (
	firstNames = []string{"Alice", "alina", "ÉMILE", "Émilie", "Bob", "bobby", "Zoë", "Chen", "ANAÏS", "Ольга", "O'Brien"}
	lastNames  = []string{"Smith", "smythe", "SMITHERS", "Öztürk", "Nakamura", "de la Cruz", "Zhang", "Ng"}
	mailboxes  = []string{"Info", "info.desk", "Sales", "SALES.team", "hr"}
	domains    = []string{"Example.ORG", "example.com", "EXAMPLE.net"}
	prefixes   = []string{"User.", "usr-", "Svc_", "ADMIN."}
	teams      = []string{"red", "green", "blue", "Red", "black"}
)

func seedPopulation(t *testing.T, s *store.Store) *population {
	t.Helper()
	ctx := context.Background()
	p := &population{roles: map[string][]string{}, groups: map[string][]string{}}
	mustInsertField(t, s, "team", user.EnumField, teams...)
	mustInsertField(t, s, "level", user.NumberField)
	p.roleA = mustInsertRole(t, s, "Role A", user.UsersRead).ID
	p.roleB = mustInsertRole(t, s, "Role B", user.AuditRead).ID
	p.roleC = mustInsertRole(t, s, "Role C", user.ExportRun).ID
	p.g1, p.g2, p.g3 = mustInsertGroup(t, s, "G1").ID, mustInsertGroup(t, s, "G2").ID, mustInsertGroup(t, s, "G3").ID
	if err := s.SetGroupRoles(ctx, p.g1, []string{p.roleA}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGroupRoles(ctx, p.g3, []string{p.roleB}); err != nil {
		t.Fatal(err)
	}
	sources := []user.Source{user.Local, user.Directory, user.SCIM}
	err := s.InTx(ctx, func(ctx context.Context) error {
		for i := range populationSize {
			u := &user.User{
				ID:        uuid.NewString(), // random, so the id order is unrelated to every other order
				Username:  fmt.Sprintf("%s%03d", prefixes[i%len(prefixes)], i),
				Email:     fmt.Sprintf("%s%d@%s", mailboxes[i%len(mailboxes)], i, domains[i%len(domains)]),
				FirstName: firstNames[i%len(firstNames)],
				LastName:  lastNames[(i*7)%len(lastNames)],
				Status:    user.Statuses[i%len(user.Statuses)],
				Source:    sources[(i/4)%len(sources)],
				CreatedAt: t0.Add(time.Duration(i%37) * time.Minute),
				UpdatedAt: t0.Add(time.Duration((i*13)%100) * 1500 * time.Microsecond),
				Version:   1,
				Custom:    map[string]string{},
			}
			if i%10 != 0 {
				u.Phone = fmt.Sprintf("+%d 555 %04d", []int{1, 44, 49}[i%3], i*7)
			}
			if i%6 == 0 { // hundreds of identical names
				u.FirstName, u.LastName = "Dup", "Licate"
			}
			if i%2 == 0 {
				u.Custom["team"] = teams[(i/2)%len(teams)]
			}
			if i%3 == 0 {
				u.Custom["level"] = fmt.Sprint(i % 4)
			}
			if err := s.InsertUser(ctx, u); err != nil {
				return err
			}
			var direct, member []string
			if i%11 == 0 {
				direct = append(direct, p.roleA)
			}
			if i%13 == 0 {
				direct = append(direct, p.roleB)
			}
			for _, m := range []struct {
				every int
				group string
			}{{5, p.g1}, {7, p.g2}, {9, p.g3}} {
				if i%m.every == 0 {
					member = append(member, m.group)
				}
			}
			if len(direct) > 0 {
				if err := s.SetUserRoles(ctx, u.ID, direct); err != nil {
					return err
				}
			}
			if len(member) > 0 {
				if err := s.SetUserGroups(ctx, u.ID, member); err != nil {
					return err
				}
			}
			p.roles[u.ID] = direct
			p.groups[u.ID] = member
			if slices.Contains(member, p.g1) {
				p.roles[u.ID] = append(p.roles[u.ID], p.roleA)
			}
			if slices.Contains(member, p.g3) {
				p.roles[u.ID] = append(p.roles[u.ID], p.roleB)
			}
			p.users = append(p.users, u)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return p
}

// sortKey compares two users the way a sort (without its "-") orders them, before the id tie-break.
func sortKey(sort string) func(a, b *user.User) int {
	lowerName := func(u *user.User) string { return strings.ToLower(strings.TrimSpace(u.FirstName + " " + u.LastName)) }
	switch sort {
	case "name":
		return func(a, b *user.User) int { return strings.Compare(lowerName(a), lowerName(b)) }
	case "username":
		return func(a, b *user.User) int {
			return strings.Compare(strings.ToLower(a.Username), strings.ToLower(b.Username))
		}
	case "email":
		return func(a, b *user.User) int { return strings.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)) }
	case "created_at":
		return func(a, b *user.User) int { return a.CreatedAt.Compare(b.CreatedAt) }
	case "updated_at":
		return func(a, b *user.User) int { return a.UpdatedAt.Compare(b.UpdatedAt) }
	}
	panic("unknown sort " + sort)
}

// expect returns the users matching keep in the order sort gives them.
func (p *population) expect(sort string, keep func(u *user.User) bool) []*user.User {
	var out []*user.User
	for _, u := range p.users {
		if keep(u) {
			out = append(out, u)
		}
	}
	desc := strings.HasPrefix(sort, "-")
	key := sortKey(strings.TrimPrefix(sort, "-"))
	slices.SortFunc(out, func(a, b *user.User) int {
		c := cmp.Or(key(a, b), strings.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	return out
}

// expectMatch returns the users matching keep and the search text q in match order: each under
// the smallest of its lower-case name, last name, email, username and phone starting with q.
func (p *population) expectMatch(q string, keep func(u *user.User) bool) []*user.User {
	q = strings.ToLower(strings.TrimSpace(q))
	key := func(u *user.User) string {
		var keys []string
		for _, v := range []string{strings.ToLower(strings.TrimSpace(u.FirstName + " " + u.LastName)), strings.ToLower(u.LastName),
			strings.ToLower(u.Email), strings.ToLower(u.Username), u.Phone} {
			if strings.HasPrefix(v, q) {
				keys = append(keys, v)
			}
		}
		return slices.Min(keys)
	}
	var out []*user.User
	for _, u := range p.users {
		if keep(u) && matchesQ(q)(u) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *user.User) int { return cmp.Or(strings.Compare(key(a), key(b)), strings.Compare(a.ID, b.ID)) })
	return out
}

// matchesQ is the documented search: a case-insensitive prefix of the full name, the last name,
// the email, the username or the phone.
func matchesQ(q string) func(u *user.User) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	return func(u *user.User) bool {
		for _, v := range []string{u.FirstName + " " + u.LastName, u.LastName, u.Email, u.Username, u.Phone} {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), q) {
				return true
			}
		}
		return false
	}
}

// listAll follows the cursor from the first page to the last and checks each page's shape.
func listAll(t *testing.T, s *store.Store, f user.Filter) []*user.User {
	t.Helper()
	var all []*user.User
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page > populationSize+1 {
			t.Fatalf("paging does not end: %d pages", page)
		}
		users, next, err := s.ListUsers(context.Background(), f)
		if err != nil {
			t.Fatalf("ListUsers(page %d): %v", page, err)
		}
		if len(users) > f.Limit {
			t.Fatalf("page %d has %d users, limit %d", page, len(users), f.Limit)
		}
		if next != "" && len(users) != f.Limit {
			t.Fatalf("page %d has %d users and a next cursor; want a full page of %d", page, len(users), f.Limit)
		}
		for _, u := range users {
			if seen[u.ID] {
				t.Fatalf("page %d repeats user %s (%s)", page, u.ID, u.Username)
			}
			seen[u.ID] = true
		}
		for _, u := range users {
			all = append(all, u.User)
		}
		if next == "" {
			return all
		}
		if next == f.Cursor {
			t.Fatalf("page %d returns its own cursor", page)
		}
		f.Cursor = next
	}
}

func TestListUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		p := seedPopulation(t, s)
		byID := map[string]*user.User{}
		for _, u := range p.users {
			byID[u.ID] = u
		}
		all := func(*user.User) bool { return true }
		status := func(st user.Status) func(*user.User) bool { return func(u *user.User) bool { return u.Status == st } }
		hasRole := func(r string) func(*user.User) bool {
			return func(u *user.User) bool { return slices.Contains(p.roles[u.ID], r) }
		}
		inGroup := func(g string) func(*user.User) bool {
			return func(u *user.User) bool { return slices.Contains(p.groups[u.ID], g) }
		}
		custom := func(kv map[string]string) func(*user.User) bool {
			return func(u *user.User) bool {
				for k, v := range kv {
					if u.Custom[k] != v {
						return false
					}
				}
				return true
			}
		}
		and := func(preds ...func(*user.User) bool) func(*user.User) bool {
			return func(u *user.User) bool {
				for _, pred := range preds {
					if !pred(u) {
						return false
					}
				}
				return true
			}
		}

		type tc struct {
			name     string
			f        user.Filter
			keep     func(*user.User) bool
			minMatch int // guards against a fixture that matches (almost) nothing by accident
		}
		tests := []tc{
			{"status active", user.Filter{Status: user.Active}, status(user.Active), 50},
			{"status invited", user.Filter{Status: user.Invited}, status(user.Invited), 50},
			{"status locked", user.Filter{Status: user.Locked}, status(user.Locked), 50},
			{"status disabled", user.Filter{Status: user.Disabled}, status(user.Disabled), 50},
			{"source directory", user.Filter{Source: user.Directory}, func(u *user.User) bool { return u.Source == user.Directory }, 50},
			{"source scim, sorted by -email", user.Filter{Source: user.SCIM, Sort: "-email"}, func(u *user.User) bool { return u.Source == user.SCIM }, 50},
			{"role A: direct or through G1", user.Filter{RoleID: p.roleA}, hasRole(p.roleA), 60},
			{"role B: direct or through G3", user.Filter{RoleID: p.roleB}, hasRole(p.roleB), 30},
			{"role nobody holds", user.Filter{RoleID: p.roleC}, hasRole(p.roleC), 0},
			{"group G1", user.Filter{GroupID: p.g1}, inGroup(p.g1), 50},
			{"group G2 granting no role", user.Filter{GroupID: p.g2}, inGroup(p.g2), 30},
			{"custom team", user.Filter{Custom: map[string]string{"team": "red"}}, custom(map[string]string{"team": "red"}), 20},
			{"custom team is case-sensitive", user.Filter{Custom: map[string]string{"team": "Red"}}, custom(map[string]string{"team": "Red"}), 20},
			{"two custom fields", user.Filter{Custom: map[string]string{"team": "green", "level": "0"}},
				custom(map[string]string{"team": "green", "level": "0"}), 3},
			{"role, group and status together", user.Filter{RoleID: p.roleA, GroupID: p.g2, Status: user.Active, Sort: "-created_at"},
				and(hasRole(p.roleA), inGroup(p.g2), status(user.Active)), 1},
			{"search and status, newest first", user.Filter{Q: "ali", Status: user.Active, Sort: "-created_at"},
				and(matchesQ("ali"), status(user.Active)), 5},
			{"search and status, match order", user.Filter{Q: "s", Status: user.Locked}, status(user.Locked), 20},
			{"search and group, match order", user.Filter{Q: "+", GroupID: p.g1}, inGroup(p.g1), 20},
			{"search by name", user.Filter{Q: "ali", Sort: "name"}, matchesQ("ali"), 40},
			{"search by -name", user.Filter{Q: "s", Sort: "-name"}, matchesQ("s"), 100},
			{"search by username", user.Filter{Q: "info", Sort: "username"}, matchesQ("info"), 40},
			{"search by email", user.Filter{Q: "+4", Sort: "email"}, matchesQ("+4"), 40},
			{"search by updated_at", user.Filter{Q: "dup", Sort: "updated_at"}, matchesQ("dup"), 40},
			{"search by -created_at", user.Filter{Q: "a", Sort: "-created_at"}, matchesQ("a"), 100},
			{"match without a search is by name", user.Filter{Sort: "match"}, all, populationSize},
		}
		for _, q := range []struct {
			q   string
			min int
		}{
			{"ali", 40},                   // first names Alice, alina
			{"ALI", 40},                   // the same, upper case
			{"  alice  ", 10},             // surrounding space ignored
			{"émi", 40},                   // ÉMILE, Émilie: case folding beyond ASCII
			{"ОЛЬ", 15},                   // Ольга
			{"alice smi", 3},              // a prefix of the whole name
			{"smi", 40},                   // last names Smith, SMITHERS
			{"SMYTHE", 20},                // a whole last name
			{"de la", 20},                 // a last name with spaces
			{"info.", 40},                 // email
			{"sales.TEAM", 40},            // email, other case
			{"sales", 100},                // email prefix of two mailboxes
			{"user.0", 20},                // username
			{"admin.1", 10},               // username, other case
			{"svc_29", 1},                 // username
			{"+44", 60},                   // phone
			{"+1 555 01", 5},              // phone with spaces
			{"+", 200},                    // every phone
			{"s", 100},                    // names, emails and usernames
			{"i", 60},                     // emails and usernames
			{"dup", 40},                   // duplicated names
			{"zzz", 0},                    // nothing
			{"%", 0},                      // not a pattern
			{"_", 0},                      // not a pattern
			{"o'brien", 20},               // a quote
			{strings.Repeat("a", 300), 0}, // long input
			{"\U0010FFFF", 0},             // the prefix bound itself
		} {
			tests = append(tests, tc{"search " + q.q, user.Filter{Q: q.q}, matchesQ(q.q), q.min})
		}
		for _, sort := range []string{"name", "username", "email", "created_at", "updated_at"} {
			for _, dir := range []string{"", "-"} {
				tests = append(tests, tc{"all by " + dir + sort, user.Filter{Sort: dir + sort}, all, populationSize})
				tests = append(tests, tc{"locked by " + dir + sort, user.Filter{Sort: dir + sort, Status: user.Locked}, status(user.Locked), 50})
			}
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				f := tc.f
				var want []*user.User
				if strings.TrimSpace(f.Q) != "" && (f.Sort == "" || f.Sort == "match") {
					want = p.expectMatch(f.Q, tc.keep)
				} else {
					sort := f.Sort
					if sort == "" || sort == "match" {
						sort = "name"
					}
					want = p.expect(sort, tc.keep)
				}
				if len(want) < tc.minMatch {
					t.Fatalf("fixture: %d users match, want at least %d", len(want), tc.minMatch)
				}
				// Many pages; then exactly one full page, whose cursor must be empty.
				for _, limit := range []int{37, max(len(want), 1)} {
					if limit == 1 && len(want) > 0 { // a page per user is slow and proves nothing more
						continue
					}
					f.Limit = limit
					got := listAll(t, s, f)
					if !slices.Equal(ids(got), ids(want)) {
						t.Fatalf("limit %d: got %d users\n%s\nwant %d\n%s", limit, len(got), describe(got), len(want), describe(want))
					}
				}
				// Listed users carry their custom values.
				f.Limit = 37
				page, _, err := s.ListUsers(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range page {
					if !equalMaps(u.Custom, byID[u.ID].Custom) {
						t.Errorf("user %s custom = %v, want %v", u.Username, u.Custom, byID[u.ID].Custom)
					}
					sameTime(t, u.Username+" UpdatedAt", u.UpdatedAt, byID[u.ID].UpdatedAt)
				}
			})
		}

		t.Run("small limits", func(t *testing.T) {
			t.Parallel()
			f := user.Filter{Q: "svc_0", Sort: "-username"}
			want := p.expect(f.Sort, matchesQ(f.Q))
			if len(want) < 3 {
				t.Fatalf("fixture: %d users match", len(want))
			}
			for _, limit := range []int{1, 2, len(want) - 1} {
				f.Limit = limit
				if got := listAll(t, s, f); !slices.Equal(ids(got), ids(want)) {
					t.Errorf("limit %d: got %s, want %s", limit, describe(got), describe(want))
				}
			}
		})

		t.Run("invalid cursor, sort or text", func(t *testing.T) {
			t.Parallel()
			b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
			_, next, err := s.ListUsers(context.Background(), user.Filter{Sort: "created_at", Limit: 5})
			if err != nil || next == "" {
				t.Fatalf("first page: next %q, err %v", next, err)
			}
			for _, bad := range []struct {
				name, sort, cursor string
			}{
				{"not base64", "name", "!!not-base64!!"},
				{"not JSON", "name", b64("garbage")},
				{"JSON of another shape", "name", b64(`["a","b"]`)},
				{"no id", "name", b64(`{"v":"alice"}`)},
				{"not a time for a time sort", "created_at", b64(`{"v":"yesterday","id":"x"}`)},
				{"a time cursor truncated", "created_at", next[:len(next)/2]},
			} {
				_, _, err := s.ListUsers(context.Background(), user.Filter{Sort: bad.sort, Limit: 10, Cursor: bad.cursor})
				if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || e.Code != "filter.cursor_invalid" ||
					len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
					t.Errorf("%s: error = %v, want Invalid filter.cursor_invalid on cursor", bad.name, err)
				}
			}
			for _, f := range []user.Filter{
				{Q: "ali\x00"},
				{Q: "\xffali"},
				{Custom: map[string]string{"team": "red\x00"}},
				{Custom: map[string]string{"team": "r\xffd"}},
			} {
				// PostgreSQL cannot store such text; both databases refuse it the same way.
				f.Sort, f.Limit = "name", 10
				_, _, err := s.ListUsers(context.Background(), f)
				if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || len(e.Fields) != 1 {
					t.Errorf("ListUsers(%+v): error = %v, want Invalid on one field", f, err)
				}
			}
			_, byName, err := s.ListUsers(context.Background(), user.Filter{Sort: "name", Limit: 5})
			if err != nil || byName == "" {
				t.Fatalf("first page by name: next %q, err %v", byName, err)
			}
			_, _, err = s.ListUsers(context.Background(), user.Filter{Sort: "email", Limit: 5, Cursor: byName})
			wantErr(t, err, errs.Invalid, "filter.cursor_invalid", "cursor")
			for _, sort := range []string{"password_hash", "-", "--name", "-match", "name; DROP TABLE users"} {
				_, _, err := s.ListUsers(context.Background(), user.Filter{Sort: sort, Limit: 10})
				wantErr(t, err, errs.Invalid, "filter.sort_invalid", "sort")
			}
		})
	})
}

func TestSearchSortedLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Parallel()
		p := seedPopulation(t, s)
		s.SetMaxSortedMatches(40)
		ctx := context.Background()
		all := func(*user.User) bool { return true }
		for _, q := range []string{"s", "sales", "+"} {
			if n := len(p.expect("name", matchesQ(q))); n <= 40 {
				t.Fatalf("fixture: %q matches %d users, want more than 40", q, n)
			}
			// Sorted by a column: refused, saying why and what to do.
			_, _, err := s.ListUsers(ctx, user.Filter{Q: q, Sort: "-created_at"})
			wantErr(t, err, errs.Invalid, "filter.search_too_broad", "q")
			if e, _ := errs.As(err); !strings.Contains(e.Fields[0].Message, "more than 40 users") {
				t.Errorf("message %q does not give the limit", e.Fields[0].Message)
			}
			// In match order: every match, page by page.
			want := p.expectMatch(q, all)
			if got := listAll(t, s, user.Filter{Q: q, Limit: 7}); !slices.Equal(ids(got), ids(want)) {
				t.Errorf("%q in match order: got %d users, want %d", q, len(got), len(want))
			}
		}
		// Up to the limit a search is sorted; a filter narrows the page, not the count.
		if n := len(p.expect("email", matchesQ("smythe"))); n > 40 || n < 10 {
			t.Fatalf("fixture: smythe matches %d users, want 10..40", n)
		}
		active := func(u *user.User) bool { return u.Status == user.Active && matchesQ("smythe")(u) }
		want := p.expect("email", active)
		if got := listAll(t, s, user.Filter{Q: "smythe", Status: user.Active, Sort: "email", Limit: 3}); !slices.Equal(ids(got), ids(want)) {
			t.Errorf("smythe by email: got %s, want %s", describe(got), describe(want))
		}
	})
}
