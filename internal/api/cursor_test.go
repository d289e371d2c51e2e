package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/api"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/user"
)

const cursorRefused = "This page link is not valid for this list with these filters; start from the first page."

// tamper returns what a client could make of a genuine cursor (base64url of a nonce, the sealed
// position and a tag): garbage, a flipped byte in each part, a cut or lengthened one, a position
// in the clear (JSON, alone or with a made-up signature, the shape cursors once had), and older
// cursor shapes (a bare id or number).
func tamper(t *testing.T, cursor string) map[string]string {
	t.Helper()
	enc := base64.RawURLEncoding
	sealed, err := enc.DecodeString(cursor)
	if err != nil {
		t.Fatalf("cursor %q is not base64url: %v", cursor, err)
	}
	if len(sealed) < 24+16+1 {
		t.Fatalf("cursor %q holds %d bytes: too short for a nonce, a position and a tag", cursor, len(sealed))
	}
	flip := func(i int) string {
		b := append([]byte(nil), sealed...)
		b[i] ^= 0x01
		return enc.EncodeToString(b)
	}
	clear := enc.EncodeToString([]byte(`{"v":"a","id":"00000000-0000-0000-0000-000000000000"}`))
	return map[string]string{
		"garbage":                  "not-a-cursor",
		"a number":                 "12",
		"an id":                    uuid.NewString(),
		"nonce byte flipped":       flip(0),
		"position byte flipped":    flip(24 + (len(sealed)-24-16)/2),
		"tag byte flipped":         flip(len(sealed) - 1),
		"cut short":                enc.EncodeToString(sealed[:len(sealed)-1]),
		"lengthened":               enc.EncodeToString(append(append([]byte(nil), sealed...), 0)),
		"a position in the clear":  clear,
		"signed the old way":       clear + "." + enc.EncodeToString(make([]byte, 32)),
		"a number in the clear":    enc.EncodeToString([]byte("1000")),
		"sealed twice over":        cursor + cursor,
		"with a trailing dot part": cursor + "." + cursor,
	}
}

// TestCursorsAreAuthenticated walks every list that pages with a cursor: its next_cursor gives
// the next page, and every forged or edited cursor, or one of another list, is refused with 422.
func TestCursorsAreAuthenticated(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, name := range []string{"Blue team", "Red team"} {
			if _, err := e.app.Users.CreateGroup(ctx, allPowerful(), user.GroupInput{Name: strptr(name)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 2 {
			if err := e.app.Store.InsertOutbox(ctx, &mail.Entry{ID: uuid.Must(uuid.NewV7()).String(), Kind: mail.KindTest,
				To: "ops@example.org", Subject: "Test", Body: "b", CreatedAt: time.Now().Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		var me struct {
			ID string `json:"id"`
		}
		e.manager.do("GET", "/api/v1/auth/me", nil).want(http.StatusOK).into(&me)

		lists := []struct{ name, path, items string }{
			{"users", "/api/v1/users?sort=email", "users"},
			{"users searched", "/api/v1/users?q=tester", "users"},
			{"groups", "/api/v1/groups", "groups"},
			{"audit log", "/api/v1/audit", "events"},
			{"audit of a user", "/api/v1/users/" + me.ID + "/audit", "events"},
			{"mail outbox", "/api/v1/mail/outbox", "messages"},
		}
		page := func(path, cursor string) *response {
			u := path + "&limit=1"
			if !strings.Contains(path, "?") {
				u = path + "?limit=1"
			}
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			return e.admin.do("GET", u, nil)
		}
		read := func(r *response, items string) (json.RawMessage, string) {
			var body map[string]json.RawMessage
			r.want(http.StatusOK).into(&body)
			var next string
			json.Unmarshal(body["next_cursor"], &next)
			return body[items], next
		}
		nexts := map[string]string{}
		for _, l := range lists {
			first, next := read(page(l.path, ""), l.items)
			if next == "" {
				t.Fatalf("%s: the first page of one has no next_cursor", l.name)
			}
			nexts[l.name] = next
			second, _ := read(page(l.path, next), l.items)
			if string(second) == string(first) || string(second) == "[]" {
				t.Fatalf("%s: the second page %s after %s", l.name, second, first)
			}
		}
		for i, l := range lists {
			bad := tamper(t, nexts[l.name])
			other := lists[(i+2)%len(lists)].name // a list of another kind
			bad["the cursor of "+other] = nexts[other]
			for what, cursor := range bad {
				p := page(l.path, cursor).problem(http.StatusUnprocessableEntity, "filter.cursor_invalid")
				if len(p.Errors) != 1 || p.Errors[0].Field != "cursor" || p.Errors[0].Message != cursorRefused {
					t.Errorf("%s, %s: errors %+v, want one on cursor saying %q", l.name, what, p.Errors, cursorRefused)
				}
			}
		}
	})
}

// cursorFixture is a small directory whose every list has two pages of one under each filter
// the cursor tests use, and a second value of each filter.
type cursorFixture struct {
	mara, marek, maria *user.Detail
	team, others       string // group ids
	adminID            string
}

func newCursorFixture(t *testing.T, e *env) cursorFixture {
	t.Helper()
	ctx := context.Background()
	sys := allPowerful()
	if _, err := e.app.Users.CreateField(ctx, sys, user.FieldInput{Name: "team", Label: strptr("Team"), Type: user.TextField}); err != nil {
		t.Fatal(err)
	}
	person := func(name, team, phone string) *user.Detail {
		email := name + "@example.org"
		d, err := e.app.Users.CreateUser(ctx, sys, user.CreateInput{Profile: user.Profile{Email: &email, Username: &name,
			FirstName: strptr(strings.ToUpper(name[:1]) + name[1:]), LastName: strptr("Quill"), Phone: &phone,
			Custom: map[string]*string{"team": &team}}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	f := cursorFixture{mara: person("mara", "red", "+44 20 7946 0958"), marek: person("marek", "red", "+44 20 7946 0959"),
		maria: person("maria", "blue", "+49 30 901820")}
	for _, d := range []*user.Detail{f.mara, f.marek} { // two more events about each
		for _, ev := range []user.Event{user.Lock, user.Unlock} {
			if _, err := e.app.Users.ChangeStatus(ctx, sys, d.ID, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	var g struct {
		ID string `json:"id"`
	}
	e.admin.do("POST", "/api/v1/groups", map[string]any{"name": "Team red"}).want(http.StatusCreated).into(&g)
	f.team = g.ID
	e.admin.do("POST", "/api/v1/groups", map[string]any{"name": "Team blue"}).want(http.StatusCreated).into(&g)
	f.others = g.ID
	e.admin.do("POST", "/api/v1/groups/"+f.team+"/members/add", map[string]any{"user_ids": []string{f.mara.ID, f.marek.ID}}).want(http.StatusOK)
	e.admin.do("POST", "/api/v1/groups/"+f.others+"/members/add", map[string]any{"user_ids": []string{f.maria.ID}}).want(http.StatusOK)
	var me struct {
		ID string `json:"id"`
	}
	e.admin.do("GET", "/api/v1/auth/me", nil).want(http.StatusOK).into(&me)
	f.adminID = me.ID
	for i, m := range []struct {
		kind string
		to   *user.Detail
		st   mail.Status
	}{{mail.KindTest, f.mara, mail.Queued}, {mail.KindTest, f.mara, mail.Queued}, {mail.KindPasswordReset, f.marek, mail.Sent}} {
		if err := e.app.Store.InsertOutbox(ctx, &mail.Entry{ID: uuid.Must(uuid.NewV7()).String(), Kind: m.kind, UserID: m.to.ID,
			To: m.to.Email, Subject: "Test", Body: "b", Status: m.st, CreatedAt: time.Now().Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// pageOf reads a page of one item from path (a list with its filters) at cursor, and returns
// the response, the items and the next cursor.
func pageOf(c *client, path, cursor string) (*response, []json.RawMessage, string) {
	u := path + "&limit=1"
	if !strings.Contains(path, "?") {
		u = path + "?limit=1"
	}
	if cursor != "" {
		u += "&cursor=" + url.QueryEscape(cursor)
	}
	r := c.do("GET", u, nil)
	if r.status != http.StatusOK {
		return r, nil, ""
	}
	var body map[string]json.RawMessage
	r.into(&body)
	var next string
	json.Unmarshal(body["next_cursor"], &next)
	for _, key := range []string{"users", "groups", "events", "messages"} {
		if raw, ok := body[key]; ok {
			var items []json.RawMessage
			json.Unmarshal(raw, &items)
			return r, items, next
		}
	}
	c.t.Fatalf("GET %s: no list in %s", u, r.body)
	return nil, nil, ""
}

// TestCursorsAreBoundToTheirFilters: a next_cursor goes on with the filters and sort it was made
// for, also spelled another way or with another page size, and is refused with 422
// filter.cursor_invalid under any other: it would otherwise give a page of another list that
// looks like its last. Every list that pages with a cursor, each of its filters.
func TestCursorsAreBoundToTheirFilters(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		f := newCursorFixture(t, e)
		users, audit, outbox := "/api/v1/users", "/api/v1/audit", "/api/v1/mail/outbox"
		for _, tc := range []struct {
			name      string
			made, use string // the list the cursor was made on, the one it is sent to
			works     bool
		}{
			{"users: another search text", users + "?q=mar", users + "?q=ma", false},
			{"users: the search text in capitals", users + "?q=mar", users + "?q=MAR", true},
			{"users: another page size", users + "?q=mar", users + "?q=mar&limit=2", true},
			{"users: no search text", users + "?q=mar", users + "?sort=match", false},
			{"users: another status", users + "?status=active", users + "?status=locked", false},
			{"users: a status added", users + "?sort=email", users + "?sort=email&status=active", false},
			{"users: another source", users + "?source=local", users + "?source=directory", false},
			{"users: another role", users + "?role=" + user.ViewerRole, users + "?role=" + user.UserManagerRole, false},
			{"users: another group", users + "?group=" + f.team, users + "?group=" + f.others, false},
			{"users: another field value", users + "?field=team=red", users + "?field=team=blue", false},
			{"users: a field filter dropped", users + "?field=team=red", users, false},
			{"users: reversed", users + "?sort=email", users + "?sort=-email", false},
			{"users: another sort", users + "?sort=email", users + "?sort=username", false},
			{"audit: another user's trail", users + "/" + f.mara.ID + "/audit", users + "/" + f.marek.ID + "/audit", false},
			{"audit: a user's trail on the whole log", users + "/" + f.mara.ID + "/audit", audit, false},
			{"audit: a user's trail on the log of that id", users + "/" + f.mara.ID + "/audit", audit + "?target=" + f.mara.ID, false},
			{"audit: another target", audit + "?target=" + f.mara.ID, audit + "?target=" + f.marek.ID, false},
			{"audit: another actor", audit + "?actor=" + f.adminID, audit + "?actor=" + f.mara.ID, false},
			{"audit: another action", audit + "?action=user.", audit + "?action=user.lock", false},
			{"audit: another outcome", audit + "?outcome=success", audit + "?outcome=failure", false},
			{"audit: another start", audit + "?from=2020-01-01T00:00:00Z", audit + "?from=2020-01-01T00:00:01Z", false},
			{"audit: the same start in another zone", audit + "?from=2020-01-01T00:00:00Z", audit + "?from=" + url.QueryEscape("2020-01-01T01:00:00+01:00"), true},
			{"audit: an end added", audit + "?from=2020-01-01T00:00:00Z", audit + "?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", false},
			{"outbox: another status", outbox + "?status=queued", outbox + "?status=sent", false},
			{"outbox: another user", outbox + "?user=" + f.mara.ID, outbox + "?user=" + f.marek.ID, false},
			{"outbox: another kind", outbox + "?kind=test", outbox + "?kind=password_reset", false},
			{"groups: another name prefix", "/api/v1/groups?q=team", "/api/v1/groups?q=t", false},
			{"groups: the prefix in capitals", "/api/v1/groups?q=team", "/api/v1/groups?q=TEAM", true},
		} {
			// No subtests: the clients fail the test they were made in.
			_, first, next := pageOf(e.admin, tc.made, "")
			if len(first) != 1 || next == "" {
				t.Fatalf("fixture: the first page of one of %s has %d items and next_cursor %q", tc.made, len(first), next)
			}
			r, second, _ := pageOf(e.admin, tc.made, next)
			if r.status != http.StatusOK || len(second) != 1 || string(second[0]) == string(first[0]) {
				t.Fatalf("%s: %s with its own next_cursor: %d, %s after %s", tc.name, tc.made, r.status, second, first)
			}
			r, _, _ = pageOf(e.admin, tc.use, next)
			var p api.Problem
			json.Unmarshal(r.body, &p)
			switch {
			case tc.works && r.status != http.StatusOK:
				t.Errorf("%s: %s with the next_cursor of %s: %d %s, want 200", tc.name, tc.use, tc.made, r.status, r.body)
			case !tc.works && (r.status != http.StatusUnprocessableEntity || p.Code != "filter.cursor_invalid" || len(p.Errors) != 1 ||
				p.Errors[0].Field != "cursor" || p.Errors[0].Message != cursorRefused):
				t.Errorf("%s: %s with the next_cursor of %s: %d %s, want 422 filter.cursor_invalid on cursor saying %q",
					tc.name, tc.use, tc.made, r.status, r.body, cursorRefused)
			}
		}
	})
}

// TestCursorsShowNothingPersonal: a cursor travels in URLs and proxy logs; it holds the position
// of the page's last row (an email, a name, a phone), which no one may read in it.
func TestCursorsShowNothingPersonal(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		newCursorFixture(t, e)
		for _, path := range []string{"/api/v1/users?sort=email", "/api/v1/users?sort=-email", "/api/v1/users?sort=username",
			"/api/v1/users?sort=name", "/api/v1/users?q=mar", "/api/v1/users?q=quill", "/api/v1/users?q=" + url.QueryEscape("+44"),
			"/api/v1/groups?q=team"} {
			_, items, next := pageOf(e.admin, path, "")
			if len(items) != 1 || next == "" {
				t.Fatalf("fixture: the first page of one of %s has %d items and next_cursor %q", path, len(items), next)
			}
			var row map[string]any
			json.Unmarshal(items[0], &row)
			// What anyone can read: the cursor, and each run of base64url in it decoded.
			readable := []string{strings.ToLower(next)}
			for _, part := range strings.FieldsFunc(next, func(r rune) bool {
				return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", r)
			}) {
				if b, err := base64.RawURLEncoding.DecodeString(part); err == nil {
					readable = append(readable, strings.ToLower(string(b)))
				}
			}
			for _, key := range []string{"email", "username", "first_name", "last_name", "name", "phone"} {
				v, _ := row[key].(string)
				if len(v) < 3 {
					continue
				}
				for _, text := range readable {
					if strings.Contains(text, strings.ToLower(v)) {
						t.Errorf("%s: the next_cursor %s shows the last row's %s %q", path, next, key, v)
					}
				}
			}
		}
	})
}
