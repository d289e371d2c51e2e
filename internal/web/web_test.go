package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

const testPassword = "correct horse battery staple"

// env is a real usher on a real database behind a real HTTP server, used as a browser without
// scripts would: forms, redirects and cookies.
type env struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fn(t, newEnv(t, st))
	})
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	ctx := context.Background()
	// The server's address is known before usher is built, so that emailed links lead to it.
	srv := httptest.NewUnstartedServer(nil)
	cfg, err := config.Load(pflag.NewFlagSet("test", pflag.ContinueOnError), []string{
		"USHER_PUBLIC_URL=http://" + srv.Listener.Addr().String(), "USHER_DATA_DIR=" + t.TempDir(),
		"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=" + testPassword,
		"USHER_INVITATION_RESEND_INTERVAL=0s"})
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
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, app: a, srv: srv}
}

// createUser makes an active user with the test password as usher itself.
func (e *env) createUser(name string, roles ...string) *user.Detail {
	e.t.Helper()
	email, pw, first, last := name+"@example.org", testPassword, strings.ToUpper(name[:1])+name[1:], "Tester"
	if roles == nil {
		roles = []string{}
	}
	d, err := e.app.Users.CreateUser(context.Background(), user.System("test"), user.CreateInput{
		Profile:  user.Profile{Email: &email, Username: &name, FirstName: &first, LastName: &last},
		Password: &pw, RoleIDs: roles})
	if err != nil {
		e.t.Fatalf("create user %s: %v", name, err)
	}
	return d
}

// browser is one person's cookie jar.
type browser struct {
	t    *testing.T
	e    *env
	http *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is an answer: its status, where it redirects, and its text.
type page struct {
	t        *testing.T
	req      string
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &page{t: b.t, req: req.Method + " " + req.URL.Path, status: res.StatusCode, location: res.Header.Get("Location"), header: res.Header, body: string(body)}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

// post submits a form as a browser on the same site does (Sec-Fetch-Site: same-origin).
func (b *browser) post(path string, form url.Values, headers ...string) *page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// follow gets the page a redirect leads to.
func (b *browser) follow(p *page) *page {
	b.t.Helper()
	if p.status != http.StatusSeeOther || p.location == "" {
		b.t.Fatalf("%s: status %d, want a redirect; body: %s", p.req, p.status, p.body)
	}
	return b.get(p.location)
}

func (e *env) signIn(login string) *browser {
	e.t.Helper()
	b := e.browser()
	p := b.post("/sign-in", url.Values{"login": {login}, "password": {testPassword}, "next": {"/users"}})
	if p.status != http.StatusSeeOther || p.location != "/users" {
		e.t.Fatalf("sign in %s: status %d, location %q; body: %s", login, p.status, p.location, p.body)
	}
	return b
}

func (p *page) want(status int) *page {
	p.t.Helper()
	if p.status != status {
		p.t.Fatalf("%s: status %d, want %d; body: %s", p.req, p.status, status, p.body)
	}
	return p
}

// has fails unless the page's text (tags removed, spaces folded) contains each of texts.
func (p *page) has(texts ...string) *page {
	p.t.Helper()
	text := p.text()
	for _, s := range texts {
		if !strings.Contains(text, s) {
			p.t.Fatalf("%s: the page does not say %q; it says: %s", p.req, s, text)
		}
	}
	return p
}

func (p *page) lacks(texts ...string) *page {
	p.t.Helper()
	text := p.text()
	for _, s := range texts {
		if strings.Contains(text, s) {
			p.t.Fatalf("%s: the page says %q and should not", p.req, s)
		}
	}
	return p
}

var (
	tags   = regexp.MustCompile(`(?s)<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

func (p *page) text() string {
	body := p.body
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	s := tags.ReplaceAllString(body, " ")
	for _, r := range [][2]string{{"&lt;", "<"}, {"&gt;", ">"}, {"&#34;", `"`}, {"&#39;", "'"}, {"&amp;", "&"}, {"&rarr;", "→"}, {"&larr;", "←"}} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// link finds the href of the link whose text is text.
func (p *page) link(text string) string {
	p.t.Helper()
	re := regexp.MustCompile(`<a href="([^"]*)"[^>]*>` + regexp.QuoteMeta(text) + `</a>`)
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("%s: no link %q", p.req, text)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// inputValue is the value of the input named name.
func (p *page) inputValue(name string) string {
	p.t.Helper()
	re := regexp.MustCompile(`<input[^>]*name="` + regexp.QuoteMeta(name) + `"[^>]*value="([^"]*)"`)
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("%s: no input %q", p.req, name)
	}
	return m[1]
}

func tbody(s string) string {
	return s[strings.Index(s, "<tbody>"):strings.Index(s, "</tbody>")]
}

func TestSignIn(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		anon := e.browser()
		p := anon.get("/")
		if p.status != http.StatusSeeOther || p.location != "/sign-in" {
			t.Fatalf("/ signed out: %d %q, want the sign-in page", p.status, p.location)
		}
		anon.get("/sign-in").want(http.StatusOK).has("Sign in to usher", "Email or username", "Password", "Forgot password?")
		if p := anon.get("/users?q=ada"); p.location != "/sign-in?next="+url.QueryEscape("/users?q=ada") {
			t.Fatalf("a page that needs a sign-in sends to %q", p.location)
		}

		e.createUser("ada", user.ViewerRole)
		anon.post("/sign-in", url.Values{"login": {"ada"}, "password": {"wrong password here"}}).
			want(http.StatusUnauthorized).has("The username or password is not correct.")
		if v := anon.post("/sign-in", url.Values{"login": {"ada"}, "password": {"nope"}}); v.inputValue("login") != "ada" {
			t.Fatal("a refused sign-in forgets the login typed")
		}

		// Somewhere else only: an address off this site is not a place to go after signing in.
		for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
			p := anon.post("/sign-in", url.Values{"login": {"admin@example.org"}, "password": {testPassword}, "next": {next}})
			if p.status != http.StatusSeeOther || p.location != "/" {
				t.Fatalf("next=%q: redirected to %q, want /", next, p.location)
			}
		}
		// Each sign-in in the same browser ended the session before it: one is left.
		admin, err := e.app.Store.DefaultAdmin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sessions, err := e.app.Store.Sessions(context.Background(), admin.ID); err != nil || len(sessions) != 1 {
			t.Fatalf("%d sessions after signing in three times in one browser (%v), want 1", len(sessions), err)
		}
		// Signing in as someone else ends the first person's session too.
		anon.post("/sign-in", url.Values{"login": {"ada"}, "password": {testPassword}})
		if sessions, err := e.app.Store.Sessions(context.Background(), admin.ID); err != nil || len(sessions) != 0 {
			t.Fatalf("%d sessions of the administrator left after ada signed in in the same browser (%v)", len(sessions), err)
		}

		b := e.signIn("admin@example.org")
		if p := b.get("/users").want(http.StatusOK).has("Users", "Default Administrator"); !strings.Contains(p.body, ">Sign out</button>") {
			t.Fatal("a signed-in page has no Sign out button")
		}
		if p := b.get("/"); p.location != "/users" {
			t.Fatalf("/ signed in goes to %q", p.location)
		}
		out := b.post("/sign-out", nil)
		b.follow(out).has("You are signed out.")
		if p := b.get("/users"); p.status != http.StatusSeeOther {
			t.Fatalf("after sign-out /users answers %d", p.status)
		}
	})
}

func TestSignInLockedAndDisabled(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("bob", user.ViewerRole)
		anon := e.browser()
		var last *page
		for range 6 {
			last = anon.post("/sign-in", url.Values{"login": {"bob"}, "password": {"not the password"}})
		}
		last.has("locked")
		anon.post("/sign-in", url.Values{"login": {"bob"}, "password": {testPassword}}).has("locked")

		carol := e.createUser("carol", user.ViewerRole)
		if _, err := e.app.Users.ChangeStatus(context.Background(), user.System("test"), carol.ID, user.Disable); err != nil {
			t.Fatal(err)
		}
		anon.post("/sign-in", url.Values{"login": {"carol"}, "password": {testPassword}}).want(http.StatusForbidden).has("disabled")
	})
}

func TestCrossSiteFormsAreRefused(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.signIn("admin@example.org")
		victim := e.createUser("victim", user.ViewerRole)
		p := b.post("/users/"+victim.ID+"/status", url.Values{"event": {"disable"}}, "Sec-Fetch-Site", "cross-site")
		if p.status != http.StatusForbidden {
			t.Fatalf("a cross-site form answered %d", p.status)
		}
		d, _ := e.app.Users.GetUser(context.Background(), user.System("test"), victim.ID)
		if d.Status != user.Active {
			t.Fatalf("a cross-site form changed the user: %s", d.Status)
		}
	})
}

func TestUsersList(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := range 120 {
			e.createUser(fmt.Sprintf("user%03d", i), user.ViewerRole)
		}
		e.createUser("marek", user.UserManagerRole)
		b := e.signIn("admin@example.org")
		p := b.get("/users").want(http.StatusOK).has("122 Total", "122 Active", "0 Invited")
		if n := strings.Count(p.body, `name="id"`); n != 50 {
			t.Fatalf("the first page has %d users, want 50", n)
		}
		p.lacks("Previous")
		// Next, next, then back.
		p2 := b.get(p.link("Next →")).want(http.StatusOK)
		p3 := b.get(p2.link("Next →")).want(http.StatusOK)
		if n := strings.Count(p3.body, `name="id"`); n != 22 {
			t.Fatalf("the last page has %d users, want 22", n)
		}
		p3.lacks("Next →")
		back := b.get(p3.link("← Previous")).want(http.StatusOK)
		if tbody(back.body) != tbody(p2.body) {
			t.Fatal("Previous from the third page is not the second page")
		}
		first := b.get(back.link("← Previous"))
		first.lacks("Previous")

		b.get("/users?q=mar").has("Marek Tester").lacks("User000 Tester")
		b.get("/users?q=zzz").has("No user matches “zzz”.", "Reset filters")
		b.get("/users?status=disabled").has("No user matches these filters.")
		b.get("/users?role=" + user.UserManagerRole).has("Marek Tester").lacks("User001 Tester")
		b.get("/users?sort=nonsense").want(http.StatusUnprocessableEntity).has("The sort must be")
		b.get("/users?sort=-email").has("User119 Tester")
		// A cursor that is not usher's starts the list again.
		if p := b.get("/users?cursor=forged"); p.status != http.StatusSeeOther || p.location != "/users" {
			t.Fatalf("a forged cursor: %d %q", p.status, p.location)
		}
		_ = ctx
	})
}

func TestBulkAction(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u1, u2, u3 := e.createUser("anna", user.ViewerRole), e.createUser("bert", user.ViewerRole), e.createUser("cleo", user.ViewerRole)
		b := e.signIn("admin@example.org")
		admin, _ := e.app.Users.ListUsers(ctx, user.System("test"), user.Filter{Q: "admin@example.org"})
		ids := url.Values{"id": {u1.ID, u2.ID, u3.ID}, "back": {"/users"}}

		ids.Set("action", "add_roles")
		ids.Set("role", user.UserManagerRole)
		b.post("/users/bulk", ids).want(http.StatusOK).has("You are about to add the role User Manager to 3 users", "Anna Tester")
		ids.Set("confirm", "yes")
		done := b.post("/users/bulk", ids)
		b.follow(done).has("Done: added the role to 3 users.")
		for _, id := range []string{u1.ID, u2.ID, u3.ID} {
			d, _ := e.app.Users.GetUser(ctx, user.System("test"), id)
			if len(d.Roles) != 2 {
				t.Fatalf("user %s has roles %v after the bulk add", d.Username, d.Roles)
			}
		}

		// Delete two users and the Default Administrator: two go, one is refused in words.
		del := url.Values{"id": {u1.ID, u2.ID, admin.Users[0].ID}, "back": {"/users"}, "action": {"delete"}}
		b.post("/users/bulk", del).has("Delete 3 users?", "This cannot be undone")
		del.Set("confirm", "yes")
		b.post("/users/bulk", del).want(http.StatusOK).has("Done, with 1 problem", "applied to 2 users",
			"Default Administrator (admin@example.org): You cannot delete your own account.")

		b.post("/users/bulk", url.Values{"action": {"disable"}, "back": {"/users"}}).want(http.StatusSeeOther)

		// Every user matching a search, not just the ticked ones.
		all := url.Values{"scope": {"matching"}, "back": {"/users?q=cleo"}, "action": {"disable"}}
		b.post("/users/bulk", all).want(http.StatusOK).has("You are about to disable 1 user", "every user matching the search and filters", "Cleo Tester")
		all.Set("confirm", "yes")
		all.Set("id", u3.ID) // the confirmation carries the ids it counted
		b.follow(b.post("/users/bulk", all)).has("Done: disabled 1 user.")
		if d, _ := e.app.Users.GetUser(ctx, user.System("test"), u3.ID); d.Status != user.Disabled {
			t.Fatalf("cleo is %s after disabling every user matching cleo", d.Status)
		}
		b.follow(b.post("/users/bulk", url.Values{"scope": {"matching"}, "back": {"/users?q=nobody"}, "action": {"disable"}})).
			has("No user matches the filters.")
	})
}

func TestUserPage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.createUser("dora", user.ViewerRole)
		b := e.signIn("admin@example.org")
		p := b.get("/users/"+u.ID).want(http.StatusOK).has("Dora Tester", "Active", "Send password reset", "Disable", "Delete")
		version := p.inputValue("version")

		form := url.Values{"version": {version}, "email": {"dora@example.org"}, "username": {"dora"}, "first_name": {"Dorothea"},
			"last_name": {"Tester"}, "phone": {""}, "department": {"Research"}, "role": {user.ViewerRole}}
		if saved := b.follow(b.post("/users/"+u.ID, form)).has("Saved the changes to Dorothea Tester."); saved.inputValue("department") != "Research" {
			t.Fatal("the saved department is not shown")
		}

		// The same form again names a version that is gone: nothing is saved, the page says why.
		form.Set("department", "Sales")
		if stale := b.post("/users/"+u.ID, form).want(http.StatusConflict).has("Someone else changed this user"); stale.inputValue("department") != "Research" {
			t.Fatal("a stale form does not show the values saved since")
		}
		d, _ := e.app.Users.GetUser(ctx, user.System("test"), u.ID)
		if d.Department != "Research" {
			t.Fatalf("a stale form saved: %q", d.Department)
		}

		// The manager is typed as an email or a username, and shown as the manager's email.
		form.Set("version", fmt.Sprint(d.Version))
		form.Set("manager", "nobody@example.org")
		b.post("/users/"+u.ID, form).want(http.StatusUnprocessableEntity).has("No user has this email or username.")
		form.Set("manager", "ADMIN@example.org")
		if saved := b.follow(b.post("/users/"+u.ID, form)).has("Saved the changes"); saved.inputValue("manager") != "admin@example.org" {
			t.Fatalf("the manager is shown as %q", saved.inputValue("manager"))
		}
		d, _ = e.app.Users.GetUser(ctx, user.System("test"), u.ID)
		form.Set("version", fmt.Sprint(d.Version))
		form.Set("manager", "")

		form.Set("email", "not-an-email")
		b.post("/users/"+u.ID, form).want(http.StatusUnprocessableEntity).has("Nothing was saved", "The email address must contain exactly one @.")

		b.follow(b.post("/users/"+u.ID+"/status", url.Values{"event": {"disable"}})).has("is disabled", "Enable")
		b.follow(b.post("/users/"+u.ID+"/status", url.Values{"event": {"enable"}})).has("is enabled again")

		// Yourself and the Default Administrator cannot be deleted.
		me, _ := e.app.Users.ListUsers(ctx, user.System("test"), user.Filter{Q: "admin@example.org"})
		b.follow(b.post("/users/"+me.Users[0].ID+"/delete", url.Values{"version": {fmt.Sprint(me.Users[0].Version)}})).
			has("You cannot delete your own account.")

		other := e.signIn(e.createUser("root", user.AdministratorRole).Username)
		other.follow(other.post("/users/"+me.Users[0].ID+"/delete", url.Values{"version": {fmt.Sprint(me.Users[0].Version)}})).
			has("The Default Administrator cannot be deleted.")

		b.follow(b.post("/users/"+u.ID+"/delete", url.Values{"version": {fmt.Sprint(d.Version + 2)}})).has("is deleted")
		b.get("/users/" + u.ID).want(http.StatusNotFound)
	})
}

func TestCreateUserPage(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.signIn("admin@example.org")
		b.get("/users/new").want(http.StatusOK).has("Create user", "Password")
		p := b.post("/users/new", url.Values{"email": {"bad"}, "first_name": {"Eve"}, "last_name": {"New"}, "role": {user.ViewerRole}})
		p.want(http.StatusUnprocessableEntity).has("Nothing was saved", "The email address must contain exactly one @.")
		if p.inputValue("first_name") != "Eve" {
			t.Fatal("a refused form forgets what was typed")
		}
		ok := b.post("/users/new", url.Values{"email": {"eve@example.org"}, "first_name": {"Eve"}, "last_name": {"New"}, "role": {user.ViewerRole}})
		b.follow(ok).has("Eve New is created.", "Viewer")

		viewer := e.createUser("vic", user.ViewerRole)
		vb := e.signIn(viewer.Username)
		vb.get("/users/new").want(http.StatusForbidden).has("This needs the users.write permission.")
		vb.get("/users").lacks("Create user")
	})
}

func TestRedirectsStayOnSite(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		b := e.signIn("admin@example.org")
		for _, next := range []string{"/\t/evil.example/y", "/\\evil.example", "//evil.example", "https://evil.example", "/%2F/evil.example", "/\x7f/x"} {
			if p := b.get("/sign-in?next=" + url.QueryEscape(next)); p.location != "/" {
				t.Errorf("next=%q sends to %q", next, p.location)
			}
			p := b.post("/users/bulk", url.Values{"back": {next}, "action": {"disable"}})
			if p.location != "/" {
				t.Errorf("back=%q sends to %q", next, p.location)
			}
		}
		if p := b.get("/sign-in?next=" + url.QueryEscape("/users?q=a b")); p.location != "/users?q=a b" && p.location != "/users?q=a%20b" {
			t.Errorf("a local next with a query sends to %q", p.location)
		}
		// A filter address that does not parse is no reason to fail.
		b.post("/users/bulk", url.Values{"back": {"/%zz"}, "scope": {"matching"}, "action": {"disable"}}).want(http.StatusOK)
	})
}

func TestUserSaveKeepsWhatTheFormDidNotShow(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		sys := user.System("test")
		u := e.createUser("gina", user.ViewerRole)
		var last *user.Group
		for i := range 201 {
			g, err := e.app.Users.CreateGroup(ctx, sys, user.GroupInput{Name: ptr(fmt.Sprintf("g%03d", i))})
			if err != nil {
				t.Fatal(err)
			}
			last = g
		}
		if _, err := e.app.Users.ChangeMembers(ctx, sys, last.ID, true, []string{u.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Users.CreateField(ctx, sys, user.FieldInput{Name: "badge", Label: ptr("Badge"), Type: user.TextField}); err != nil {
			t.Fatal(err)
		}
		badge := "B-7"
		if _, err := e.app.Users.UpdateUser(ctx, sys, u.ID, user.AnyVersion, user.Patch{Profile: user.Profile{Custom: map[string]*string{"badge": &badge}}}); err != nil {
			t.Fatal(err)
		}
		before, _ := e.app.Users.GetUser(ctx, sys, u.ID)
		b := e.signIn("admin@example.org")
		form := url.Values{"version": {fmt.Sprint(before.Version)}, "email": {"gina@example.org"}, "username": {"gina"},
			"first_name": {"Gina"}, "last_name": {"Tester"}, "phone": {"+44 20 7946 0000"}, "department": {""},
			"role": {user.ViewerRole}, "field.badge": {"B-7"}}
		b.get("/users").has("g000", "g200") // the group filter offers every group
		b.get("/users?group=" + last.ID).has("Gina Tester").lacks("Default Administrator")
		b.follow(b.post("/users/"+u.ID, form)).has("Saved the changes")
		after, _ := e.app.Users.GetUser(ctx, sys, u.ID)
		if len(after.Groups) != 1 || after.Groups[0].ID != last.ID {
			t.Fatalf("saving the form lost a group it did not show: %+v", after.Groups)
		}
		evs, _, _ := e.app.Users.UserAudit(ctx, sys, u.ID, audit.Filter{Action: "user.update", Limit: 1})
		if len(evs) != 1 || strings.Contains(fmt.Sprint(evs[0].Details), "badge") {
			t.Fatalf("an untouched custom field is recorded as changed: %+v", evs)
		}
	})
}

func ptr[T any](v T) *T { return &v }
