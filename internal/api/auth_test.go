package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/audit"
)

func TestSignInSessionsAndTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// a wrong password and an unknown login get the same answer
		wrong := e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "viewer", "password": "not the password"}).
			problem(http.StatusUnauthorized, "auth.invalid_credentials")
		unknown := e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "nobody@example.org", "password": "not the password"}).
			problem(http.StatusUnauthorized, "auth.invalid_credentials")
		if wrong.Detail != unknown.Detail {
			t.Fatalf("answers differ: %q vs %q", wrong.Detail, unknown.Detail)
		}

		// the session cookie is HttpOnly and SameSite
		r := e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "VIEWER", "password": testPassword}).want(http.StatusOK)
		c := r.cookies[0]
		if c.Name != "usher_session" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
			t.Fatalf("cookie %+v", c)
		}
		// a state-changing request from another site with the cookie is refused
		session := &client{t: t, base: e.srv.URL, cookie: c.Value}
		res := session.do("POST", "/api/v1/tokens", map[string]any{"name": "x"}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
		if res.status != http.StatusForbidden {
			t.Fatalf("cross-site POST: status %d", res.status)
		}

		// tokens: shown once, work as bearer, narrowed by scopes, cannot make tokens, revocable
		var tok struct {
			ID     string   `json:"id"`
			Token  string   `json:"token"`
			Scopes []string `json:"scopes"`
		}
		e.manager.do("POST", "/api/v1/tokens", map[string]any{"name": "reader", "scopes": []string{"users.read"}}).want(http.StatusCreated).into(&tok)
		if !strings.HasPrefix(tok.Token, "usher_") || len(tok.Token) < 40 {
			t.Fatalf("token %q", tok.Token)
		}
		e.manager.do("POST", "/api/v1/tokens", map[string]any{"name": "too much", "scopes": []string{"settings.manage"}}).problem(http.StatusUnprocessableEntity, "auth.escalation")
		bearer := &client{t: t, base: e.srv.URL, token: tok.Token}
		bearer.do("GET", "/api/v1/users", nil).want(http.StatusOK)
		target := e.freshUser("active")
		bearer.do("POST", "/api/v1/users/"+target+"/lock", nil).problem(http.StatusForbidden, "auth.permission_denied")
		bearer.do("POST", "/api/v1/tokens", map[string]any{"name": "child"}).problem(http.StatusForbidden, "token.from_token")
		var list struct {
			Tokens []map[string]any `json:"tokens"`
		}
		e.manager.do("GET", "/api/v1/tokens", nil).want(http.StatusOK).into(&list)
		if len(list.Tokens) != 1 || list.Tokens[0]["token"] != nil || list.Tokens[0]["hash"] != nil {
			t.Fatalf("token list shows a secret or the wrong tokens: %v", list.Tokens)
		}
		e.viewer.do("DELETE", "/api/v1/tokens/"+tok.ID, nil).problem(http.StatusNotFound, "token.not_found")
		e.manager.do("DELETE", "/api/v1/tokens/"+tok.ID, nil).want(http.StatusNoContent)
		bearer.do("GET", "/api/v1/users", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")
		(&client{t: t, base: e.srv.URL, token: "usher_forged"}).do("GET", "/api/v1/users", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")

		// logout ends the session
		session.do("POST", "/api/v1/auth/logout", nil).want(http.StatusNoContent)
		session.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")

		// locking or disabling ends a user's sessions and refuses sign-in
		victim := e.createUser("victim", "viewer")
		vs := e.login("victim")
		e.manager.do("POST", "/api/v1/users/"+victim.ID+"/lock", nil).want(http.StatusOK)
		vs.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "victim", "password": testPassword}).problem(http.StatusForbidden, "auth.account_locked")
		e.manager.do("POST", "/api/v1/users/"+victim.ID+"/unlock", nil).want(http.StatusOK)
		vs = e.login("victim")
		e.manager.do("POST", "/api/v1/users/"+victim.ID+"/disable", nil).want(http.StatusOK)
		vs.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "victim", "password": testPassword}).problem(http.StatusForbidden, "auth.account_disabled")
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "victim", "password": "not the password"}).problem(http.StatusUnauthorized, "auth.invalid_credentials")

		// every sign-in attempt is audited, and no secret reaches the log
		events, _, err := e.app.Users.Audit(context.Background(), allPowerful(), audit.Filter{Action: "auth.", Limit: 500})
		must(t, err)
		var failures int
		for _, ev := range events {
			if ev.Outcome == audit.Failure {
				failures++
			}
			for _, secret := range []string{testPassword, "not the password", tok.Token, c.Value} {
				if strings.Contains(ev.ActorName+ev.TargetName+toJSON(ev.Details), secret) {
					t.Fatalf("audit event %s contains a secret", ev.Action)
				}
			}
		}
		if failures != 5 {
			t.Fatalf("%d failed sign-ins audited, want 5", failures)
		}
	})
}

func TestSetupPage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		// usher is set up already: the setup form refuses any token
		res, err := http.PostForm(e.srv.URL+"/setup", url.Values{"token": {"setup_guess"}, "email": {"x@example.org"},
			"first_name": {"X"}, "last_name": {"Y"}, "password": {testPassword}})
		must(t, err)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("setup with a guessed token: %d, want 403", res.StatusCode)
		}
		e.anon.do("POST", "/api/v1/setup", map[string]string{"token": "setup_guess", "email": "x@example.org", "first_name": "X",
			"last_name": "Y", "password": testPassword}).problem(http.StatusForbidden, "setup.token_invalid")
	})
}
