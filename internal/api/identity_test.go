package api_test

import (
	"net/http"
	"testing"
)

// TestIdentityRules checks over HTTP that identities with hidden characters are refused (422)
// and look-alikes of existing ones are refused (409), each with its code on the field, and that
// an email typed in NFD is stored and found as NFC.
func TestIdentityRules(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// newEnv made admin@example.org, manager@example.org and viewer@example.org.
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"an email with a right-to-left override", map[string]any{"email": "ad\u202emin@example.org", "first_name": "A", "last_name": "B"},
				http.StatusUnprocessableEntity, "identity.bidi_char", "email"},
			{"an email with a zero-width space", map[string]any{"email": "zw\u200b@example.org", "first_name": "A", "last_name": "B"},
				http.StatusUnprocessableEntity, "identity.invisible_char", "email"},
			{"a username with a NUL", map[string]any{"email": "nul@example.org", "username": "nul\u0000", "first_name": "A", "last_name": "B"},
				http.StatusUnprocessableEntity, "identity.control_char", "username"},
			{"an email with a Cyrillic а", map[string]any{"email": "\u0430dmin@example.org", "username": "admin2", "first_name": "A", "last_name": "B"},
				http.StatusConflict, "user.lookalike", "email"},
			{"an email in fullwidth letters", map[string]any{"email": "ｍａｎａｇｅｒ@example.org", "username": "fw", "first_name": "A", "last_name": "B"},
				http.StatusConflict, "user.lookalike", "email"},
			{"a username with a Cyrillic letter (usernames are ASCII)", map[string]any{"email": "v@example.org", "username": "m\u0430nager", "first_name": "A", "last_name": "B"},
				http.StatusUnprocessableEntity, "username.invalid_chars", "username"},
			{"a username like another's", map[string]any{"email": "v@example.org", "username": "rnanager", "first_name": "A", "last_name": "B"},
				http.StatusConflict, "user.lookalike", "username"},
		} {
			// The clients fail the test they were made for: no subtests here.
			p := e.admin.do("POST", "/api/v1/users", tc.body).problem(tc.status, tc.code)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code || p.Errors[0].Message == "" {
				t.Errorf("%s: errors %+v, want one %s on %s with a message", tc.name, p.Errors, tc.code, tc.field)
			}
		}

		e.admin.do("POST", "/api/v1/roles", map[string]any{"name": "\u0410dministrator"}).problem(http.StatusConflict, "role.name_builtin")
		e.admin.do("POST", "/api/v1/groups", map[string]any{"name": "Ops\nteam"}).problem(http.StatusUnprocessableEntity, "identity.control_char")

		u := e.admin.do("POST", "/api/v1/users", map[string]any{"email": " Jose\u0301@example.org ", "username": "jose",
			"first_name": "José", "last_name": "B"}).want(http.StatusCreated).user()
		if u.Email != "Jos\u00e9@example.org" {
			t.Fatalf("stored email %q, want the NFC form without spaces", u.Email)
		}
		e.admin.do("POST", "/api/v1/users", map[string]any{"email": "jos\u00e9@example.org", "username": "jose2",
			"first_name": "J", "last_name": "B"}).problem(http.StatusConflict, "user.email_taken")
	})
}
