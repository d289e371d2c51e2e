package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

func TestAccountPassword(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("pat", user.ViewerRole)
		b := e.signIn("pat")
		other := e.signIn("pat") // another browser of the same person
		p := b.get("/account").want(http.StatusOK).has("Your account", "Password", "Your sessions", "This session", "Your API tokens")
		if !strings.Contains(p.body, `<a href="/account" aria-current="page"`) {
			t.Fatal("the signed-in name in the header does not lead to the account page")
		}

		newPW := "a brand new passphrase"
		b.post("/account/password", url.Values{"current_password": {"not my password"}, "new_password": {newPW}, "confirm": {newPW}}).
			want(http.StatusUnprocessableEntity).has("The current password is not correct.")
		b.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {newPW}, "confirm": {newPW + "!"}}).
			want(http.StatusUnprocessableEntity).has("The two new passwords differ")
		b.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"short"}, "confirm": {"short"}}).
			want(http.StatusUnprocessableEntity).has("Nothing was saved")

		done := b.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {newPW}, "confirm": {newPW}})
		if done.status != http.StatusSeeOther || !strings.HasPrefix(done.location, "/sign-in") {
			t.Fatalf("after a password change: %d %q, want the sign-in page", done.status, done.location)
		}
		b.follow(done).has("Your password is changed", "Sign in with the new password.")
		for _, who := range []*browser{b, other} {
			if p := who.get("/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/sign-in") {
				t.Fatalf("a session from before the change still works: %d %q", p.status, p.location)
			}
		}
		again := e.browser()
		again.post("/sign-in", url.Values{"login": {"pat"}, "password": {testPassword}}).want(http.StatusUnauthorized)
		if p := again.post("/sign-in", url.Values{"login": {"pat"}, "password": {newPW}, "next": {"/account"}}); p.location != "/account" {
			t.Fatalf("sign-in with the new password: %d %q", p.status, p.location)
		}
	})
}

func TestAccountTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("tom", user.AuditorRole)
		b := e.signIn("tom")
		b.get("/account").has("You have no API tokens.", "users.read", "audit.read").lacks("users.write")
		b.post("/account/tokens", url.Values{"name": {" "}}).want(http.StatusUnprocessableEntity).has("The token needs a name of 1 to 100 characters.")
		b.post("/account/tokens", url.Values{"name": {"ci"}, "expires": {"tomorrow"}}).want(http.StatusUnprocessableEntity).has("Enter a date like")
		b.post("/account/tokens", url.Values{"name": {"ci"}, "scope": {"users.write"}}).want(http.StatusUnprocessableEntity).
			has("You do not hold users.write")

		tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
		secret, id := b.makeToken(url.Values{"name": {"nightly sync"}, "scope": {"users.read"}, "expires": {tomorrow}})
		p := b.get("/account").has("nightly sync", "users.read", tomorrow)
		if strings.Contains(p.body, secret) {
			t.Fatal("the token's secret is shown again")
		}

		// It works as a Bearer token on the API, narrowed to its scope.
		e.bearer(secret, "/api/v1/users").want(http.StatusOK)
		if p := e.bearer(secret, "/api/v1/audit"); p.status != http.StatusForbidden {
			t.Fatalf("a token narrowed to users.read reads the audit log: %d", p.status)
		}

		if !regexp.MustCompile(`data-confirm="Revoke the token “nightly sync”\?`).MatchString(p.body) {
			t.Fatal("revoking a token is not confirmed first")
		}
		b.follow(b.post("/account/tokens/"+id+"/revoke", nil)).has("The API token is revoked", "You have no API tokens.")
		if p := e.bearer(secret, "/api/v1/users"); p.status != http.StatusUnauthorized {
			t.Fatalf("a revoked token still works: %d", p.status)
		}
		// Someone else's token is not there to revoke.
		mine, otherID := e.signIn("admin@example.org").makeToken(url.Values{"name": {"admin's"}})
		b.follow(b.post("/account/tokens/"+otherID+"/revoke", nil)).has("There is no such token.")
		e.bearer(mine, "/api/v1/users").want(http.StatusOK)
	})
}

func TestAccountSessions(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("sam", user.ViewerRole)
		b := e.signIn("sam")
		laptop := e.signIn("sam")
		p := b.get("/account")
		if strings.Count(p.body, "This session") != 1 || strings.Count(p.body, ">End session</button>") != 1 {
			t.Fatalf("two sessions should show one as this session and one to end: %s", p.text())
		}
		m := regexp.MustCompile(`action="/account/sessions/([^/"]+)/end"`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatal("no session to end")
		}
		// Another person's session is not there to end.
		admin := e.signIn("admin@example.org")
		u, _ := url.Parse(e.srv.URL)
		var adminSession string
		for _, c := range admin.http.Jar.Cookies(u) {
			if c.Name == "usher_session" {
				adminSession = c.Value
			}
		}
		b.follow(b.post("/account/sessions/"+auth.SessionID(adminSession)+"/end", nil)).has("There is no such session of yours.")
		admin.get("/users").want(http.StatusOK)

		b.follow(b.post("/account/sessions/"+m[1]+"/end", nil)).has("The session has ended")
		if p := laptop.get("/users"); p.status != http.StatusSeeOther {
			t.Fatalf("the ended session still works: %d", p.status)
		}
		b.get("/account").want(http.StatusOK).lacks(">End session</button>")
	})
}
