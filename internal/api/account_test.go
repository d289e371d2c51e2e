package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/mail"
)

func TestPasswordReset(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		viewer := e.createUser("rita", "viewer")
		session := e.login("rita")

		// the same answer, status and (floored) time for an existing and a missing account; the
		// link is built from the configured public URL, never from the request's Host
		start := time.Now()
		known := e.anon.do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "RITA@example.org"}, "Host", "evil.example").want(http.StatusAccepted)
		tKnown := time.Since(start)
		start = time.Now()
		missing := e.anon.do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "nobody@example.org"}).want(http.StatusAccepted)
		tMissing := time.Since(start)
		if string(known.body) != string(missing.body) {
			t.Fatalf("answers differ:\n%s\n%s", known.body, missing.body)
		}
		if tKnown < auth.ResetAnswerFloor || tMissing < auth.ResetAnswerFloor {
			t.Fatalf("reset answers took %v and %v, both must take at least %v", tKnown, tMissing, auth.ResetAnswerFloor)
		}
		link := e.mail.resetLink(t, viewer.ID)
		if !strings.HasPrefix(link, e.app.Config.PublicURL+"/reset-password?token=rst_") {
			t.Fatalf("reset link %q is not built from the public URL %s", link, e.app.Config.PublicURL)
		}
		token := e.mail.resetToken(t, viewer.ID)

		// a weak new password is refused without using the token up
		e.anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": "short"}).
			problem(http.StatusUnprocessableEntity, "password.too_short")
		// 50 parallel uses of the token: exactly one succeeds
		var wg sync.WaitGroup
		statuses := make([]int, 50)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.anon.do("POST", "/api/v1/auth/password-reset/confirm", map[string]string{"token": token, "password": "a brand new passphrase"}).status
			}()
		}
		wg.Wait()
		ok := 0
		for _, s := range statuses {
			switch s {
			case http.StatusNoContent:
				ok++
			case http.StatusUnprocessableEntity:
			default:
				t.Fatalf("parallel reset answered %d", s)
			}
		}
		if ok != 1 {
			t.Fatalf("%d parallel uses of one reset token succeeded, want exactly 1", ok)
		}
		// every session ended; the new password works, the old one does not
		session.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "rita", "password": testPassword}).problem(http.StatusUnauthorized, "auth.invalid_credentials")
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "rita", "password": "a brand new passphrase"}).want(http.StatusOK)
		// a reset token is useless as a session or a bearer token
		(&client{t: t, base: e.srv.URL, token: token}).do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")

		// administrators send resets to one or many users; locked and disabled users get none
		other := e.createUser("otto", "viewer")
		e.manager.do("POST", "/api/v1/users/"+other.ID+"/reset-password", nil).want(http.StatusNoContent)
		e.viewer.do("POST", "/api/v1/users/"+other.ID+"/reset-password", nil).problem(http.StatusForbidden, "auth.permission_denied")
		e.manager.do("POST", "/api/v1/users/"+other.ID+"/disable", nil).want(http.StatusOK)
		var bulk struct {
			Succeeded, Failed int
		}
		e.manager.do("POST", "/api/v1/users/bulk", map[string]any{"action": "reset_password", "ids": []string{viewer.ID, other.ID}}).want(http.StatusOK).into(&bulk)
		if bulk.Succeeded != 1 || bulk.Failed != 1 {
			t.Fatalf("bulk reset: %+v", bulk)
		}
	})
}

func TestOwnSessionsAndPasswordChange(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("sam", "viewer")
		first, second := e.login("sam"), e.login("sam")
		var list struct {
			Sessions []struct {
				ID      string `json:"id"`
				Current bool   `json:"current"`
			} `json:"sessions"`
		}
		first.do("GET", "/api/v1/auth/sessions", nil).want(http.StatusOK).into(&list)
		if len(list.Sessions) != 2 {
			t.Fatalf("%d sessions, want 2", len(list.Sessions))
		}
		var other string
		for _, s := range list.Sessions {
			if !s.Current {
				other = s.ID
			}
		}
		e.viewer.do("DELETE", "/api/v1/auth/sessions/"+other, nil).problem(http.StatusNotFound, "session.not_found")
		first.do("DELETE", "/api/v1/auth/sessions/"+other, nil).want(http.StatusNoContent)
		second.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")

		p := first.do("POST", "/api/v1/auth/password", map[string]string{"current_password": "wrong wrong wrong", "new_password": "another fine passphrase"}).
			problem(http.StatusUnprocessableEntity, "auth.wrong_password")
		if p.Errors[0].Field != "current_password" {
			t.Fatalf("field %q", p.Errors[0].Field)
		}
		first.do("POST", "/api/v1/auth/password", map[string]string{"current_password": testPassword, "new_password": "short"}).
			problem(http.StatusUnprocessableEntity, "password.too_short")
		first.do("POST", "/api/v1/auth/password", map[string]string{"current_password": testPassword, "new_password": "another fine passphrase"}).want(http.StatusNoContent)
		first.do("GET", "/api/v1/auth/me", nil).problem(http.StatusUnauthorized, "auth.unauthenticated")
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "sam", "password": "another fine passphrase"}).want(http.StatusOK)
	})
}

func TestLockoutThroughTheAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		u := e.createUser("lena", "viewer")
		for range 4 {
			e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "lena", "password": "guess guess guess"}).problem(http.StatusUnauthorized, "auth.invalid_credentials")
		}
		p := e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "lena", "password": "guess guess guess"}).problem(http.StatusForbidden, "auth.account_locked")
		if !strings.Contains(p.Detail, "locked") {
			t.Fatalf("the locked message does not say so: %q", p.Detail)
		}
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "lena", "password": testPassword}).problem(http.StatusForbidden, "auth.account_locked")
		if got := e.admin.do("GET", "/api/v1/users/"+u.ID, nil).want(http.StatusOK).user(); got.Status != "locked" {
			t.Fatalf("status %s", got.Status)
		}
		told := e.mail.messages(t, mail.KindAccountLocked, u.ID)
		if len(told) != 1 || told[0].To != "lena@example.org" {
			t.Fatalf("the lockout was told %d times, want once to lena", len(told))
		}
		// and the one active administrator, filed under lena
		admins := e.mail.messages(t, mail.KindAccountLockedAdmin, u.ID)
		if len(admins) != 1 || admins[0].To != "admin@example.org" {
			t.Fatalf("%d administrators were told of the lockout, want the Default Administrator", len(admins))
		}
		// a reset request for a locked user sends nothing (the policy to let resets unlock is off)
		e.anon.do("POST", "/api/v1/auth/password-reset", map[string]string{"email": "lena@example.org"}).want(http.StatusAccepted)
		if e.mail.resetLink(t, u.ID) != "" {
			t.Fatal("a locked user got a reset link")
		}
		e.manager.do("POST", "/api/v1/users/bulk", map[string]any{"action": "unlock", "ids": []string{u.ID}}).want(http.StatusOK)
		e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": "lena", "password": testPassword}).want(http.StatusOK)
	})
}
