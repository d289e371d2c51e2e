package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/mail/mailtest"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// textPart returns the decoded text/plain part and the subject of a received message.
func textPart(t *testing.T, raw []byte) (subject, text string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	var find func(h interface{ Get(string) string }, body io.Reader) string
	find = func(h interface{ Get(string) string }, body io.Reader) string {
		ct, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(ct, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					return ""
				}
				if s := find(p.Header, p); s != "" {
					return s
				}
			}
		}
		if ct != "text/plain" {
			return ""
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, _ := io.ReadAll(body)
		return string(b)
	}
	return subject, find(msg.Header, msg.Body)
}

func postJSON(t *testing.T, url, cookie string, body any) (int, []byte) {
	t.Helper()
	code, b, _ := post(t, url, cookie, body)
	return code, b
}

// TestLockoutAndResetByEmail is the whole story over HTTP and SMTP: five wrong passwords lock an
// account and both the person and the administrator get an email; an administrator's unlock
// lets them in; a forgotten password is reset from the emailed link.
func TestLockoutAndResetByEmail(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			smtpd := mailtest.Start(t, mailtest.Options{})
			host, port, _ := net.SplitHostPort(smtpd.Addr)
			args := []string{"--data-dir", t.TempDir(), "--smtp-host", host, "--smtp-port", port, "--smtp-tls", "none",
				"--mail-from", "usher@example.org", "--reset-interval", "0s"} // two reset emails to ada in a row
			if d == store.Postgres {
				args = append(args, "--database-url", storetest.NewPostgresDatabase(t))
			}
			addr, logs, _ := serve(t, []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}, args...)
			base := "http://" + addr
			_, _, cookies := post(t, base+"/api/v1/auth/login", "", map[string]string{"login": "admin@example.org", "password": "a long enough secret"})
			admin := cookies[0].Value
			code, body := postJSON(t, base+"/api/v1/users", admin, map[string]string{"email": "ada@example.org", "username": "ada",
				"first_name": "Ada", "last_name": "Lovelace", "password": "the right password"})
			if code != http.StatusCreated {
				t.Fatalf("create: %d %s", code, body)
			}
			var ada struct{ ID string }
			json.Unmarshal(body, &ada)

			for range 5 {
				postJSON(t, base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "a wrong password"})
			}
			code, body = postJSON(t, base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "the right password"})
			if code != http.StatusForbidden || !strings.Contains(string(body), "locked") {
				t.Fatalf("right password while locked: %d %s", code, body)
			}
			got := map[string]string{}
			for _, m := range smtpd.Wait(t, 2, 20*time.Second) {
				subject, _ := textPart(t, m.Data)
				got[m.To[0]] = subject
			}
			if !strings.Contains(strings.ToLower(got["ada@example.org"]), "locked") || !strings.Contains(got["admin@example.org"], "ada") {
				t.Fatalf("lock notices: %v", got)
			}
			if code, body = postJSON(t, base+"/api/v1/users/"+ada.ID+"/unlock", admin, nil); code != http.StatusOK {
				t.Fatalf("unlock: %d %s", code, body)
			}
			if code, body = postJSON(t, base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "the right password"}); code != http.StatusOK {
				t.Fatalf("after unlock: %d %s", code, body)
			}

			// forgotten password: request, email, link, new password
			if code, _ = postJSON(t, base+"/api/v1/auth/password-reset", "", map[string]string{"email": "ada@example.org"}); code != http.StatusAccepted {
				t.Fatalf("reset request: %d", code)
			}
			msgs := smtpd.Wait(t, 3, 20*time.Second)
			_, text := textPart(t, msgs[2].Data)
			link := regexp.MustCompile(`http://\S+/reset-password\?token=\S+`).FindString(text)
			if link == "" || !strings.HasPrefix(link, base+"/") {
				t.Fatalf("no reset link to %s in:\n%s", base, text)
			}
			res, err := http.Get(link)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("open the link: %v %v", res, err)
			}
			res.Body.Close()
			u, _ := url.Parse(link)
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar} // the flash message after the redirect is a cookie
			res, err = browser.PostForm(base+"/reset-password", url.Values{"token": {u.Query().Get("token")},
				"password": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}})
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "Your password is changed") {
				t.Fatalf("reset page: %d\n%s", res.StatusCode, page)
			}
			// the link is used up: the page says so, with the status the API gives
			res, err = browser.PostForm(base+"/reset-password", url.Values{"token": {u.Query().Get("token")},
				"password": {"another new passphrase"}, "confirm": {"another new passphrase"}})
			if err != nil {
				t.Fatal(err)
			}
			page, _ = io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusUnprocessableEntity || strings.Contains(string(page), "Your password is changed") {
				t.Fatalf("reset page with a used link: %d\n%s", res.StatusCode, page)
			}
			if code, _ = postJSON(t, base+"/api/v1/auth/login", "", map[string]string{"login": "ada", "password": "a brand new passphrase"}); code != http.StatusOK {
				t.Fatalf("sign in with the new password: %d", code)
			}
			if strings.Contains(logs.String(), u.Query().Get("token")) {
				t.Fatal("the reset token reached the log")
			}

			// with the SMTP server gone, a failure is visible in the outbox, and no body is shown
			smtpd.Close()
			postJSON(t, base+"/api/v1/auth/password-reset", "", map[string]string{"email": "ada@example.org"})
			deadline := time.Now().Add(20 * time.Second)
			for {
				var outbox struct {
					Messages []map[string]any `json:"messages"`
				}
				getJSON(t, base+"/api/v1/mail/outbox?status=queued&user="+ada.ID, admin, &outbox)
				if len(outbox.Messages) == 1 && outbox.Messages[0]["last_error"] != nil {
					m := outbox.Messages[0]
					if m["kind"] != "password_reset" || m["attempts"].(float64) < 1 || m["body"] != nil ||
						!strings.Contains(m["last_error"].(string), "refused") {
						t.Fatalf("outbox entry %v", m)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no failed attempt visible in the outbox: %v", outbox.Messages)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
