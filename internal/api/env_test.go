package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/api"
	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

const testPassword = "correct horse battery staple"

// env is a real usher on a real database behind a real HTTP server, with three signed-in people.
type env struct {
	t       *testing.T
	app     *app.App
	mail    mailbox
	srv     *httptest.Server
	anon    *client
	admin   *client
	manager *client
	viewer  *client
	cookie  string        // the session cookie's name
	ldap    *dirtest.LDAP // a slapd subtree, once a test asks for it (directoryServer)
}

// each runs fn on a fresh env per database.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fn(t, newEnv(t, st))
	})
}

// newEnv starts the env; environ adds USHER_* settings.
func newEnv(t *testing.T, st *store.Store, environ ...string) *env {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), append([]string{"USHER_DATA_DIR=" + t.TempDir(),
		"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=" + testPassword,
		"USHER_INVITATION_RESEND_INTERVAL=0s"}, environ...))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SyncBuiltinRoles(ctx); err != nil {
		t.Fatal(err)
	}
	if err := job.Migrate(ctx, st); err != nil { // the outbox queues a job with each message
		t.Fatal(err)
	}
	a, err := app.New(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.EnsureDefaultAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	e := &env{t: t, app: a, srv: srv, cookie: auth.SessionCookieName(cfg.HTTPS())}
	e.mail = mailbox{e: e}
	e.anon = &client{t: t, base: srv.URL, cookieName: e.cookie}
	e.admin = e.login("admin@example.org")
	e.manager = e.login(e.createUser("manager", user.UserManagerRole).Username)
	e.viewer = e.login(e.createUser("viewer", user.ViewerRole).Username)
	return e
}

// createUser makes an active user with the test password as usher itself.
func (e *env) createUser(name string, roles ...string) *user.Detail {
	e.t.Helper()
	email := name + "@example.org"
	pw := testPassword
	if roles == nil {
		roles = []string{}
	}
	d, err := e.app.Users.CreateUser(context.Background(), user.System("test"), user.CreateInput{
		Profile:  user.Profile{Email: &email, Username: &name, FirstName: strptr(strings.ToUpper(name[:1]) + name[1:]), LastName: strptr("Tester")},
		Password: &pw, RoleIDs: roles})
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return d
}

// login signs in through the API and returns a client carrying the session cookie.
func (e *env) login(login string) *client {
	e.t.Helper()
	r := e.anon.do("POST", "/api/v1/auth/login", map[string]string{"login": login, "password": testPassword})
	r.want(http.StatusOK)
	for _, c := range r.cookies {
		if c.Name == e.cookie {
			return &client{t: e.t, base: e.srv.URL, cookie: c.Value, cookieName: e.cookie}
		}
	}
	e.t.Fatalf("login %s: no session cookie", login)
	return nil
}

func strptr(s string) *string { return &s }

// client talks to the server as one person (or nobody).
type client struct {
	t          *testing.T
	base       string
	cookie     string
	cookieName string // usher_session when empty
	token      string
}

type response struct {
	t       *testing.T
	req     string
	status  int
	header  http.Header
	cookies []*http.Cookie
	body    []byte
}

// do sends a request; headers come as name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		name := c.cookieName
		if name == "" {
			name = auth.SessionCookie
		}
		req.AddCookie(&http.Cookie{Name: name, Value: c.cookie})
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{t: c.t, req: method + " " + path, status: res.StatusCode, header: res.Header, cookies: res.Cookies(), body: b}
}

// want fails the test unless the status is as expected.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s: status %d, want %d; body: %s", r.req, r.status, status, r.body)
	}
	return r
}

// into decodes the body.
func (r *response) into(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("%s: decode %s: %v", r.req, r.body, err)
	}
}

// problem decodes a problem+json body and checks its content type and code.
func (r *response) problem(status int, code string) api.Problem {
	r.t.Helper()
	r.want(status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		r.t.Fatalf("%s: content type %q, want application/problem+json", r.req, ct)
	}
	var p api.Problem
	r.into(&p)
	if p.Code != code {
		r.t.Fatalf("%s: problem code %q, want %q (%s)", r.req, p.Code, code, r.body)
	}
	if p.Status != status || p.Title == "" {
		r.t.Fatalf("%s: problem %+v lacks status or title", r.req, p)
	}
	return p
}

// userJSON is the subset of a user the tests read.
type userJSON struct {
	ID       string            `json:"id"`
	Username string            `json:"username"`
	Email    string            `json:"email"`
	Status   string            `json:"status"`
	Version  int64             `json:"version"`
	Custom   map[string]string `json:"custom"`
	Roles    []struct {
		ID        string `json:"id"`
		Direct    bool   `json:"direct"`
		Inherited bool   `json:"inherited"`
		Via       []struct {
			ID string `json:"id"`
		} `json:"via"`
	} `json:"roles"`
	Groups []struct {
		ID string `json:"id"`
	} `json:"groups"`
}

func (r *response) user() userJSON {
	r.t.Helper()
	var u userJSON
	r.into(&u)
	return u
}

func allPowerful() user.Actor { return user.System("test") }

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// mailbox reads what usher queued in its outbox: the real notifier wrote it, in the
// transaction of its cause (the jobs that would send it do not run in these tests).
type mailbox struct{ e *env }

// messages returns the queued messages of a kind filed under a user, newest first.
func (m mailbox) messages(t *testing.T, kind, userID string) []*mail.Message {
	t.Helper()
	entries, _, err := m.e.app.Store.Outbox(context.Background(), mail.Filter{Kind: kind, UserID: userID, Limit: mail.MaxPage})
	if err != nil {
		t.Fatal(err)
	}
	var out []*mail.Message
	for i := range entries {
		msg, err := m.e.app.Background.Outbox.Open(&entries[i])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

var invitationLinkRE = regexp.MustCompile(`https?://\S+/invitation\?token=[A-Za-z0-9_-]+`)

// invitationLink returns the link of the latest invitation email to a user, "" when none was sent.
func (m mailbox) invitationLink(t *testing.T, userID string) string {
	t.Helper()
	msgs := m.messages(t, mail.KindInvitation, userID)
	if len(msgs) == 0 {
		return ""
	}
	link := invitationLinkRE.FindString(msgs[0].Text)
	if link == "" {
		t.Fatalf("the invitation email has no link:\n%s", msgs[0].Text)
	}
	return link
}

// invitationToken returns the token of the latest invitation link emailed to a user.
func (m mailbox) invitationToken(t *testing.T, userID string) string {
	t.Helper()
	link := m.invitationLink(t, userID)
	if link == "" {
		t.Fatalf("no invitation was sent to %s", userID)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

var resetLinkRE = regexp.MustCompile(`https?://\S+/reset-password\?token=[A-Za-z0-9_-]+`)

// resetLink returns the link of the latest reset email to a user, "" when none was sent.
func (m mailbox) resetLink(t *testing.T, userID string) string {
	t.Helper()
	msgs := m.messages(t, mail.KindPasswordReset, userID)
	if len(msgs) == 0 {
		return ""
	}
	link := resetLinkRE.FindString(msgs[0].Text)
	if link == "" {
		t.Fatalf("the reset email has no link:\n%s", msgs[0].Text)
	}
	return link
}

// resetToken returns the token of the latest reset link sent to a user.
func (m mailbox) resetToken(t *testing.T, userID string) string {
	t.Helper()
	link := m.resetLink(t, userID)
	if link == "" {
		t.Fatalf("no reset link was sent to %s", userID)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}
