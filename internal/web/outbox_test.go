package web_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/mail/mailtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// serveEnv runs the whole of usher as `usher serve` does, background jobs and the outbox
// included, on 127.0.0.1:0 with its email going to smtpd, and returns an env whose browsers talk
// to it. Only its server address is set: everything is done through pages, as a person would.
func serveEnv(t *testing.T, d store.Dialect, smtpd *mailtest.Server) *env {
	t.Helper()
	host, port, _ := net.SplitHostPort(smtpd.Addr)
	environ := []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=" + testPassword,
		"USHER_LISTEN=127.0.0.1:0", "USHER_DATA_DIR=" + t.TempDir(), "USHER_SMTP_HOST=" + host, "USHER_SMTP_PORT=" + port,
		"USHER_SMTP_TLS=none", "USHER_MAIL_FROM=usher@example.org"}
	if d == store.Postgres {
		environ = append(environ, "USHER_DATABASE_URL="+storetest.NewPostgresDatabase(t))
	}
	cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), environ)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, slog.New(slog.DiscardHandler), func(a string) { addr <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-addr:
		return &env{t: t, srv: &httptest.Server{URL: "http://" + a}}
	case err := <-done:
		t.Fatalf("usher serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("usher serve did not start in 30 s")
	}
	return nil
}

// waitForBadge gets path until its page shows a status badge with the word text.
func (b *browser) waitForBadge(path, text string) *page {
	b.t.Helper()
	badge := `class="badge badge-` + strings.ToLower(text) + `">` + text + `</span>`
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := b.get(path).want(http.StatusOK)
		if strings.Contains(p.body, badge) {
			return p
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s shows no %s badge after 30 s: %s", path, text, p.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOutboxPage: an administrator sees each email's recipient, kind, status, attempts and
// last error, never its content; a message the SMTP server could not take shows as retrying
// with the reason; a viewer is refused in words.
func TestOutboxPage(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			smtpd := mailtest.Start(t, mailtest.Options{})
			e := serveEnv(t, d, smtpd)
			admin := e.signIn("admin@example.org")
			admin.get("/outbox").want(http.StatusOK).has("Email outbox", "No email has been sent yet.")
			newUser := func(name string) string {
				p := admin.post("/users/new", url.Values{"email": {name + "@example.org"}, "username": {name}, "first_name": {"R"},
					"last_name": {"Tester"}, "role": {user.ViewerRole}, "password": {testPassword}})
				if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/users/") {
					t.Fatalf("create %s: %d %s", name, p.status, p.text())
				}
				return strings.TrimPrefix(p.location, "/users/")
			}
			rita := newUser("rita")
			admin.follow(admin.post("/users/"+rita+"/reset-password", nil)).has("A password reset link is on its way")
			if got := smtpd.Wait(t, 1, 30*time.Second); got[0].To[0] != "rita@example.org" {
				t.Fatalf("the reset email went to %v", got[0].To)
			}
			p := admin.waitForBadge("/outbox", "Sent")
			p.has("rita@example.org", "password_reset").lacks("token=", "reset-password?")
			if strings.Contains(p.body, "reset-password?token") || strings.Contains(p.body, "badge-failed") || strings.Contains(p.body, "badge-retrying") {
				t.Fatal("the outbox shows a message's link, or a failure")
			}
			admin.get("/outbox?status=sent").has("rita@example.org")
			admin.get("/outbox?status=failed").has("No email is failed.", "Reset filters")
			admin.get("/outbox?status=lost").want(http.StatusUnprocessableEntity).has("The status must be queued, sent or failed.")

			// The SMTP server goes away: the next message is retried, and says why.
			smtpd.Close()
			sam := newUser("sam")
			admin.follow(admin.post("/users/"+sam+"/reset-password", nil)).has("A password reset link is on its way")
			p = admin.waitForBadge("/outbox?status=queued", "Retrying")
			p.has("sam@example.org", "password_reset", "connect").lacks("rita@example.org")

			viewer := e.signIn("rita")
			viewer.get("/outbox").want(http.StatusForbidden).has("This needs the settings.manage permission.")
			viewer.get("/users").lacks("Email outbox")
		})
	}
}
