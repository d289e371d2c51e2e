package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

type userList struct {
	Users      []userJSON `json:"users"`
	NextCursor string     `json:"next_cursor"`
}

func (e *env) list(c *client, query url.Values) userList {
	e.t.Helper()
	var l userList
	c.do("GET", "/api/v1/users?"+query.Encode(), nil).want(http.StatusOK).into(&l)
	return l
}

func usernames(l userList) []string {
	var out []string
	for _, u := range l.Users {
		out = append(out, u.Username)
	}
	return out
}

func TestSearchFilterAndPage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := e.admin
		for i, p := range []struct{ first, last, email, username, phone string }{
			{"Zoë", "Ångström", "zoe@physics.example", "zangstrom", "+46 8 555 0101"},
			{"Zora", "Neale", "zora@books.example", "zneale", "+1 555 0102"},
			{"Ada", "Zuse", "ada.zuse@calc.example", "azuse", "+49 30 555 0103"},
		} {
			admin.do("POST", "/api/v1/users", map[string]any{"email": p.email, "username": p.username, "first_name": p.first,
				"last_name": p.last, "phone": p.phone, "department": fmt.Sprint("D", i)}).want(http.StatusCreated)
		}
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"zo", []string{"zangstrom", "zneale"}}, // first name, accent-insensitive case
			{"ZOR", []string{"zneale"}},             // first name, upper case
			{"ångs", []string{"zangstrom"}},         // last name with a non-ASCII letter
			{"zus", []string{"azuse"}},              // last name
			{"ada.z", []string{"azuse"}},            // email
			{"zne", []string{"zneale"}},             // username
			{"+1 555", []string{"zneale"}},          // phone
			{"ada zuse", []string{"azuse"}},         // full name
			{"nobody-matches-this", nil},
		} {
			got := usernames(e.list(admin, url.Values{"q": {tc.q}, "sort": {"username"}}))
			if tc.q == "zo" {
				// "zo" may also match users whose email or username starts with zo
				got = slices.DeleteFunc(got, func(s string) bool { return !slices.Contains(tc.want, s) })
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("q=%q: got %v, want %v", tc.q, got, tc.want)
			}
		}

		// 45 more users; page through them 10 at a time in both directions
		for i := range 45 {
			n := fmt.Sprintf("pager%02d", i)
			admin.do("POST", "/api/v1/users", map[string]any{"email": n + "@example.org", "username": n, "first_name": "Pa", "last_name": n}).want(http.StatusCreated)
		}
		// No sort: match order, here the last name or username "pagerNN" of each.
		for _, sort := range []string{"", "match", "username", "-username", "created_at", "-created_at", "email", "name"} {
			var seen []string
			q := url.Values{"q": {"pager"}, "limit": {"10"}}
			if sort != "" {
				q.Set("sort", sort)
			}
			for pages := 0; ; pages++ {
				if pages > 6 {
					t.Fatalf("sort %s: too many pages", sort)
				}
				l := e.list(admin, q)
				seen = append(seen, usernames(l)...)
				if l.NextCursor == "" {
					break
				}
				q.Set("cursor", l.NextCursor)
			}
			if len(seen) != 45 {
				t.Fatalf("sort %s: paged through %d users, want 45", sort, len(seen))
			}
			sorted := slices.Clone(seen)
			slices.Sort(sorted)
			if sort == "-username" {
				slices.Reverse(sorted)
			}
			if (sort == "" || sort == "match" || sort == "username" || sort == "-username" || sort == "created_at") && !slices.Equal(seen, sorted) {
				t.Fatalf("sort %s: order %v", sort, seen)
			}
			if len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 45 {
				t.Fatalf("sort %s: duplicates in %v", sort, seen)
			}
		}
		admin.do("GET", "/api/v1/users?cursor=garbage", nil).problem(http.StatusUnprocessableEntity, "filter.cursor_invalid")
		admin.do("GET", "/api/v1/users?sort=password", nil).problem(http.StatusUnprocessableEntity, "filter.sort_invalid")
		admin.do("GET", "/api/v1/users?q=pager&sort=-match", nil).problem(http.StatusUnprocessableEntity, "filter.sort_invalid")
		admin.do("GET", "/api/v1/users?status=sleeping", nil).problem(http.StatusUnprocessableEntity, "request.invalid")

		// status filter and counts
		l := e.list(admin, url.Values{"q": {"pager0"}})
		admin.do("POST", "/api/v1/users/bulk", map[string]any{"action": "disable", "ids": []string{l.Users[0].ID, l.Users[1].ID}}).want(http.StatusOK)
		if got := usernames(e.list(admin, url.Values{"status": {"disabled"}, "sort": {"username"}})); !slices.Equal(got, []string{"pager00", "pager01"}) {
			t.Fatalf("disabled users %v", got)
		}
		var counts struct{ Total, Active, Disabled int }
		admin.do("GET", "/api/v1/users/counts", nil).want(http.StatusOK).into(&counts)
		if counts.Disabled != 2 || counts.Total != counts.Active+2 || counts.Total != 3+3+45 {
			t.Fatalf("counts %+v", counts)
		}
	})
}

func TestGroupsRolesAndCustomFields(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		admin := e.admin
		// a group that grants the Auditor role
		var g struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		}
		admin.do("POST", "/api/v1/groups", map[string]any{"name": "Compliance", "roles": []string{"auditor"}}).want(http.StatusCreated).into(&g)
		admin.do("POST", "/api/v1/groups", map[string]any{"name": "compliance"}).problem(http.StatusConflict, "group.name_taken")
		u := e.createUser("carol", "viewer")
		admin.do("POST", "/api/v1/groups/"+g.ID+"/members/add", map[string]any{"user_ids": []string{u.ID}}).want(http.StatusOK)
		got := admin.do("GET", "/api/v1/users/"+u.ID, nil).want(http.StatusOK).user()
		var auditor *struct {
			ID        string `json:"id"`
			Direct    bool   `json:"direct"`
			Inherited bool   `json:"inherited"`
			Via       []struct {
				ID string `json:"id"`
			} `json:"via"`
		}
		for i := range got.Roles {
			if got.Roles[i].ID == "auditor" {
				auditor = &got.Roles[i]
			}
		}
		if auditor == nil || !auditor.Inherited || auditor.Direct || len(auditor.Via) != 1 || auditor.Via[0].ID != g.ID {
			t.Fatalf("inherited role: %+v", got.Roles)
		}
		if l := e.list(admin, url.Values{"role": {"auditor"}}); len(l.Users) != 1 || l.Users[0].ID != u.ID {
			t.Fatalf("role filter: %v", usernames(l))
		}
		if l := e.list(admin, url.Values{"group": {g.ID}}); len(l.Users) != 1 {
			t.Fatalf("group filter: %v", usernames(l))
		}
		// the inherited role is read-only on the user: setting direct roles leaves it
		got = admin.do("PATCH", "/api/v1/users/"+u.ID, map[string]any{"roles": []string{}}, "If-Match", etagOf(got.Version)).want(http.StatusOK).user()
		if len(got.Roles) != 1 || got.Roles[0].ID != "auditor" {
			t.Fatalf("after clearing direct roles: %+v", got.Roles)
		}
		// a user manager cannot change someone holding more than they do, nor hand out the
		// Administrator role, directly or through a group
		e.manager.do("PATCH", "/api/v1/users/"+u.ID, map[string]any{"department": "X"}, "If-Match", "*").problem(http.StatusForbidden, "auth.superior")
		v := e.createUser("victor", "viewer")
		e.manager.do("PATCH", "/api/v1/users/"+v.ID, map[string]any{"roles": []string{"administrator"}}, "If-Match", "*").problem(http.StatusForbidden, "auth.escalation")
		admin.do("POST", "/api/v1/groups", map[string]any{"name": "Admins", "roles": []string{"administrator"}}).want(http.StatusCreated).into(&g)
		e.manager.do("PATCH", "/api/v1/users/"+v.ID, map[string]any{"groups": []string{g.ID}}, "If-Match", "*").problem(http.StatusForbidden, "auth.escalation")
		e.manager.do("POST", "/api/v1/groups/"+g.ID+"/members/add", map[string]any{"user_ids": []string{v.ID}}).problem(http.StatusForbidden, "auth.escalation")

		// bulk role change with one result per user
		var bulk struct {
			Succeeded, Failed int
			Results           []struct {
				ID     string `json:"id"`
				OK     bool   `json:"ok"`
				Status int    `json:"status"`
				Error  *struct {
					Code string `json:"code"`
				} `json:"error"`
			} `json:"results"`
		}
		admin.do("POST", "/api/v1/users/bulk", map[string]any{"action": "add_roles", "ids": []string{u.ID, v.ID, "missing"}, "roles": []string{"user_manager"}}).
			want(http.StatusOK).into(&bulk)
		if bulk.Succeeded != 2 || bulk.Failed != 1 || bulk.Results[2].OK || bulk.Results[2].Status != 404 || bulk.Results[2].Error.Code != "user.not_found" {
			t.Fatalf("bulk: %+v", bulk)
		}
		if l := e.list(admin, url.Values{"role": {"user_manager"}, "q": {"victor"}}); len(l.Users) != 1 {
			t.Fatalf("bulk add_roles did not stick")
		}

		// a custom field: define, set, validate, filter
		admin.do("POST", "/api/v1/fields", map[string]any{"name": "cost_center", "label": "Cost center", "type": "number"}).want(http.StatusCreated)
		admin.do("POST", "/api/v1/fields", map[string]any{"name": "email", "label": "E", "type": "text"}).problem(http.StatusUnprocessableEntity, "field.name_reserved")
		p := admin.do("PATCH", "/api/v1/users/"+v.ID, map[string]any{"custom": map[string]any{"cost_center": "forty"}}, "If-Match", "*").
			problem(http.StatusUnprocessableEntity, "field.not_a_number")
		if p.Errors[0].Field != "custom.cost_center" {
			t.Fatalf("custom field error: %+v", p.Errors)
		}
		got = admin.do("PATCH", "/api/v1/users/"+v.ID, map[string]any{"custom": map[string]any{"cost_center": "4711"}}, "If-Match", "*").want(http.StatusOK).user()
		if got.Custom["cost_center"] != "4711" {
			t.Fatalf("custom value %v", got.Custom)
		}
		if l := e.list(admin, url.Values{"field": {"cost_center=4711"}}); len(l.Users) != 1 || l.Users[0].ID != v.ID {
			t.Fatalf("custom field filter: %v", usernames(l))
		}
		admin.do("GET", "/api/v1/users?field=nosuch=1", nil).problem(http.StatusUnprocessableEntity, "field.unknown")
	})
}
