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

	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/user"
)

const cursorRefused = "This page link is not valid or has expired; start from the first page."

// tamper returns what a client could make of a genuine cursor ("payload.signature", both
// base64url): garbage, the unsigned payload, a flipped byte in either part, an edited payload
// under the old signature, and older cursor shapes (a bare id or number).
func tamper(t *testing.T, cursor string) map[string]string {
	t.Helper()
	enc := base64.RawURLEncoding
	p, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		t.Fatalf("cursor %q is not payload.signature", cursor)
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		t.Fatalf("cursor payload %q: %v", p, err)
	}
	mac, err := enc.DecodeString(sig)
	if err != nil {
		t.Fatalf("cursor signature %q: %v", sig, err)
	}
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 0x01
		return b
	}
	var v any
	if err := json.Unmarshal(payload, &v); err != nil {
		t.Fatalf("cursor payload %s: %v", payload, err)
	}
	switch x := v.(type) {
	case map[string]any: // users and groups: {"v": sort key, "id": …}
		x["v"] = "a"
	case float64: // audit: an event id
		v = x + 1000
	case string: // outbox: an entry id
		v = strings.Repeat("f", len(x))
	default:
		t.Fatalf("cursor payload %s of an unknown shape", payload)
	}
	edited, _ := json.Marshal(v)
	return map[string]string{
		"garbage":                       "not-a-cursor",
		"a number":                      "12",
		"an id":                         uuid.NewString(),
		"unsigned payload":              p,
		"no signature":                  p + ".",
		"signature byte flipped":        p + "." + enc.EncodeToString(flip(mac, 0)),
		"last signature byte flipped":   p + "." + enc.EncodeToString(flip(mac, len(mac)-1)),
		"payload byte flipped":          enc.EncodeToString(flip(payload, len(payload)/2)) + "." + sig,
		"payload edited and re-encoded": enc.EncodeToString(edited) + "." + sig,
		"signature twice":               cursor + "." + sig,
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
