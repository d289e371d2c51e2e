package cli_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/mail/mailtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestInvitationByEmail is the whole story over HTTP and SMTP: an administrator invites two
// addresses of which one is wrong, the good one gets an email through the outbox, and its
// link, built from the public URL, signs the new person in with the password they choose.
func TestInvitationByEmail(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			smtpd := mailtest.Start(t, mailtest.Options{})
			host, port, _ := net.SplitHostPort(smtpd.Addr)
			args := []string{"--data-dir", t.TempDir(), "--smtp-host", host, "--smtp-port", port, "--smtp-tls", "none",
				"--mail-from", "usher@example.org"}
			if d == store.Postgres {
				args = append(args, "--database-url", storetest.NewPostgresDatabase(t))
			}
			addr, logs, _ := serve(t, []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}, args...)
			base := "http://" + addr
			_, _, cookies := post(t, base+"/api/v1/auth/login", "", map[string]string{"login": "admin@example.org", "password": "a long enough secret"})
			admin := cookies[0].Value

			code, body := postJSON(t, base+"/api/v1/invitations", admin, map[string]any{
				"invitations": []map[string]any{{"email": "ana@example.org", "roles": []string{"viewer"}}, {"email": "ana @example.org"}},
				"message":     "See you on Monday."})
			var res struct {
				Results []struct {
					OK    bool `json:"ok"`
					Error *struct {
						Detail string `json:"detail"`
					} `json:"error"`
				} `json:"results"`
			}
			if json.Unmarshal(body, &res); code != http.StatusOK || len(res.Results) != 2 || !res.Results[0].OK ||
				res.Results[1].Error == nil || res.Results[1].Error.Detail != "Remove the spaces from the email address." {
				t.Fatalf("invite: %d %s", code, body)
			}

			msgs := smtpd.Wait(t, 1, 20*time.Second)
			subject, text := textPart(t, msgs[0].Data)
			link := regexp.MustCompile(`http://\S+/invitation\?token=\S+`).FindString(text)
			if msgs[0].To[0] != "ana@example.org" || !strings.Contains(subject, "invited you") || !strings.Contains(text, "See you on Monday.") ||
				!strings.HasPrefix(link, base+"/invitation?token=inv_") {
				t.Fatalf("invitation email to %v, %q:\n%s", msgs[0].To, subject, text)
			}
			u, _ := url.Parse(link)
			token := u.Query().Get("token")
			code, body, cookies = post(t, base+"/api/v1/invitations/accept", "", map[string]string{"token": token,
				"first_name": "Ana", "last_name": "Lima", "password": "ana's own passphrase"})
			if code != http.StatusOK || len(cookies) != 1 || !strings.Contains(string(body), `"name":"Ana Lima"`) {
				t.Fatalf("accept: %d %s", code, body)
			}
			var me struct{ Email string }
			getJSON(t, base+"/api/v1/auth/me", cookies[0].Value, &me)
			if me.Email != "ana@example.org" {
				t.Fatalf("signed in as %q", me.Email)
			}
			if code, _ := postJSON(t, base+"/api/v1/auth/login", "", map[string]string{"login": "ana@example.org", "password": "ana's own passphrase"}); code != http.StatusOK {
				t.Fatalf("sign in with the chosen password: %d", code)
			}
			if strings.Contains(logs.String(), token) {
				t.Fatal("the invitation token reached the log")
			}
		})
	}
}
