// Package web is usher's console: server-rendered pages and the static files they use, embedded
// in the binary. Every route is in routes.go. Handlers are thin: they read a form or a query, call
// the same domain services as the API (which check every permission and rule), and render a page
// or redirect with a flash message. Pages work without JavaScript; a few small scripts only make
// them quicker to use.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/request"
	"github.com/usherhq/usher/internal/user"
)

//go:embed templates static
var files embed.FS

// Deps are the services the console calls.
type Deps struct {
	Users *user.Service
	Auth  *auth.Service
	Setup *auth.Setup
	// Invitations invites people and lets them accept.
	Invitations *auth.Invitations
	Mail        *mail.Log // the outbox page
	Logger      *slog.Logger
	// HTTPS is set when the public URL is https: the session cookie is then the Secure __Host- one.
	HTTPS bool
	// PasswordMinLength is the password policy's least length, for the forms' hints.
	PasswordMinLength int
	// Imports stages and applies imports of users; ImportMaxSize is the largest file it takes.
	Imports       *imports.Service
	ImportMaxSize int64
	// Directories manages the LDAP and Active Directory directories users come from.
	Directories *directory.Service
	// FlashKey signs the one-time messages shown after a redirect. Replicas behind one address
	// need the same key; without one a random key is made.
	FlashKey []byte
}

// Console serves the console's pages.
type Console struct {
	deps    Deps
	cookie  string
	pages   map[string]*template.Template
	static  http.Handler
	version string // a digest of the static files, so their URLs change when they do
	handler http.Handler
}

// New parses every template with the shared layout and builds the console's handler. A broken or
// missing template fails here, at start-up, not on a request.
func New(deps Deps) (*Console, error) {
	if deps.Users == nil || deps.Auth == nil || deps.Setup == nil || deps.Mail == nil || deps.Invitations == nil || deps.Imports == nil {
		return nil, errors.New("web.New: the user, auth, setup, invitation, import and mail log services are required")
	}
	if deps.ImportMaxSize <= 0 {
		deps.ImportMaxSize = 512 << 20
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.PasswordMinLength <= 0 {
		deps.PasswordMinLength = auth.DefaultPolicy.MinLength
	}
	if len(deps.FlashKey) == 0 {
		deps.FlashKey = make([]byte, 32)
		rand.Read(deps.FlashKey)
	}
	c := &Console{deps: deps, cookie: auth.SessionCookieName(deps.HTTPS)}
	if err := c.parse(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}
	if c.version, err = digestFS(static); err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(static))
	mux := http.NewServeMux()
	c.routes(mux)
	c.handler = request.Middleware(deps.HTTPS, http.NewCrossOriginProtection().Handler(c.signedIn(mux)))
	return c, nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// parse reads every page in templates/pages, each with the layout and the partials, into its own
// set: two pages may both define "content".
func (c *Console) parse() error {
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errors.New("web: no page templates")
	}
	c.pages = map[string]*template.Template{}
	for _, name := range names {
		t, err := template.New("layout.html").Funcs(funcs(c)).ParseFS(files, "templates/layout.html", "templates/partials/*.html", name)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", name, err)
		}
		c.pages[strings.TrimSuffix(strings.TrimPrefix(name, "templates/pages/"), ".html")] = t
	}
	return nil
}

func digestFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9]), err
}

// serveStatic serves the embedded CSS and scripts. Their URLs carry a digest of their content,
// so browsers may keep them for a year.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") == c.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	c.static.ServeHTTP(w, r)
}

// base is what every page's data carries: who is signed in, the flash message, the page title.
type base struct {
	Title  string
	Me     *me
	Flash  *flash
	Nav    string // the navigation entry to mark current
	Status int
}

func (b *base) common() *base { return b }

// page is any page's data: a struct embedding base.
type page interface{ common() *base }

// me is the signed-in user as the layout shows them.
type me struct {
	ID    string
	Name  string
	Actor user.Actor
}

// Can reports whether the signed-in user holds a permission (to show or hide an action; the
// services check again). A name that is not in the catalogue is a template's mistake: it fails the page.
func (m *me) Can(p string) (bool, error) {
	if !user.KnownPermission(user.Permission(p)) {
		return false, fmt.Errorf("no permission is called %q", p)
	}
	return m != nil && m.Actor.Permissions.Has(user.Permission(p)), nil
}

// render writes a page with the security headers every page carries.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data page) {
	b := data.common()
	if b.Me == nil {
		b.Me = meFrom(r.Context())
	}
	if b.Flash == nil {
		b.Flash = c.takeFlash(w, r)
	}
	b.Status = status
	t, ok := c.pages[name]
	if !ok {
		c.deps.Logger.Error("no such page template", "page", name)
		http.Error(w, "Something went wrong on the server.", http.StatusInternalServerError)
		return
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		c.deps.Logger.Error("render page", "page", name, "request_id", request.From(r).ID, "err", err)
		http.Error(w, "Something went wrong on the server showing this page. Request id: "+request.From(r).ID, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	if h.Get("Referrer-Policy") == "" { // pages that hold a token send none
		h.Set("Referrer-Policy", "same-origin")
	}
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write([]byte(buf.String()))
}

// errorPage is the page for an error that is not a form's.
type errorPage struct {
	base
	Message   string
	RequestID string
}

// fail answers a request whose service call failed with something other than a form's field
// errors: sign in again, not allowed, not found, or a server problem (logged with the request id;
// the person reads the id, never the cause).
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := errs.As(err)
	if ok && e.Kind == errs.Unauthenticated {
		c.toSignIn(w, r)
		return
	}
	if !ok || e.Kind == errs.Internal {
		id := request.From(r).ID
		c.deps.Logger.Error("console request failed", "path", r.URL.Path, "request_id", id, "err", err)
		c.render(w, r, http.StatusInternalServerError, "error", &errorPage{base: base{Title: "Something went wrong"},
			Message: "Something went wrong on the server, and nothing was changed by this request. Try again; if it happens again, give your administrator this request id.", RequestID: id})
		return
	}
	status, _ := e.Kind.HTTPStatus()
	title := map[errs.Kind]string{errs.Forbidden: "Not allowed", errs.NotFound: "Not found", errs.Conflict: "Not done",
		errs.TooMany: "Too many requests"}[e.Kind]
	if title == "" {
		title = "Not done"
	}
	retryAfter(w, e)
	c.render(w, r, status, "error", &errorPage{base: base{Title: title}, Message: e.Message})
}

// retryAfter says when to try again, on an answer to a request the server shed.
func retryAfter(w http.ResponseWriter, err error) {
	if n := errs.RetryAfterSeconds(err); n > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(n))
	}
}

// formError splits a service error into the message above a form and the messages next to its
// fields. ok is false when the error is not about the input: the caller then calls fail.
func formError(err error) (message string, fields map[string]string, status int, ok bool) {
	e, isErr := errs.As(err)
	if !isErr || e.Kind == errs.Internal || e.Kind == errs.Unauthenticated || e.Kind == errs.NotFound && len(e.Fields) == 0 {
		return "", nil, 0, false
	}
	fields = map[string]string{}
	for _, f := range e.Fields {
		if _, seen := fields[f.Field]; !seen {
			fields[f.Field] = f.Message
		}
	}
	status, _ = e.Kind.HTTPStatus()
	return e.Message, fields, status, true
}

// summary is the message above a form that came back with errors: when they are next to their
// fields, a sentence that says so, and any error whose field the form does not show.
func summary(message string, fields map[string]string, shown func(field string) bool) string {
	if len(fields) == 0 {
		return message
	}
	out := "Nothing was saved. Correct what is marked below."
	for name, text := range fields {
		if !shown(name) {
			out += " " + text
		}
	}
	return out
}

// readForm reads a posted form of at most limit bytes.
func readForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.E(errs.TooLarge, "form.too_large", "The form is too large.")
		}
		return errs.E(errs.Invalid, "form.unreadable", "The form could not be read. Reload the page and try again.")
	}
	return nil
}

// client is the request's client, as the services record it.
func client(r *http.Request) auth.Client {
	info := request.From(r)
	return auth.Client{IP: info.IP, UserAgent: info.UserAgent, RequestID: info.ID}
}

type meKey struct{}

// signedIn resolves the session cookie, when there is one, to the signed-in user for every page.
// An expired or revoked session is forgotten (its cookie removed).
func (c *Console) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(c.cookie)
		if err != nil || ck.Value == "" || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		a, err := c.deps.Auth.SessionActor(r.Context(), ck.Value)
		if err != nil {
			if !errs.Is(errs.Unauthenticated, err) {
				c.fail(w, r, err)
				return
			}
			http.SetCookie(w, c.sessionCookie("", -1))
			next.ServeHTTP(w, r)
			return
		}
		info := request.From(r)
		a.RequestID, a.ClientIP = info.ID, info.IP
		name := a.Name
		if d, err := c.deps.Users.GetUser(r.Context(), a, a.ID); err == nil {
			name = d.Name()
		}
		m := &me{ID: a.ID, Name: name, Actor: a}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), meKey{}, m)))
	})
}

func meFrom(ctx context.Context) *me {
	m, _ := ctx.Value(meKey{}).(*me)
	return m
}

// sessionFrom is the signed-in session's cookie value.
func (c *Console) sessionFrom(r *http.Request) string {
	if ck, err := r.Cookie(c.cookie); err == nil {
		return ck.Value
	}
	return ""
}

// must wraps a page that needs a signed-in user: without one, the sign-in page, which comes
// back here after.
func (c *Console) must(h func(http.ResponseWriter, *http.Request, *me)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m := meFrom(r.Context())
		if m == nil {
			c.toSignIn(w, r)
			return
		}
		h(w, r, m)
	}
}

func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = r.URL.Path
	}
	target := "/sign-in"
	if next != "/" && next != "" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath keeps a redirect target only when it is a path on this site.
// Control characters and backslashes are refused outright: browsers drop tabs and new lines from
// an address and read a backslash as a slash, so "/\t/evil.example" would leave the site.
func localPath(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// sessionCookie is the cookie that carries a session: never readable by scripts, never sent on
// cross-site subrequests, Secure whenever usher is served over https.
func (c *Console) sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: c.cookie, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.deps.HTTPS, SameSite: http.SameSiteLaxMode}
}

// flash is a one-time message shown on the page a redirect leads to.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

const flashCookie = "usher_flash"

// redirect answers a form that did its work: a flash message, then the page to show.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, to string, f flash) {
	if f.Text != "" {
		v := f.Kind + "|" + f.Text
		mac := hmac.New(sha256.New, c.deps.FlashKey)
		mac.Write([]byte(v))
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: 60, HttpOnly: true, Secure: c.deps.HTTPS,
			SameSite: http.SameSiteLaxMode,
			Value:    base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + "." + base64.RawURLEncoding.EncodeToString([]byte(v))})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// takeFlash reads the flash message, if any, and removes it. One whose signature does not hold
// is dropped: nobody but usher writes what the console shows as its own message.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.deps.HTTPS, SameSite: http.SameSiteLaxMode})
	sig, val, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return nil
	}
	s, err1 := base64.RawURLEncoding.DecodeString(sig)
	v, err2 := base64.RawURLEncoding.DecodeString(val)
	if err1 != nil || err2 != nil {
		return nil
	}
	mac := hmac.New(sha256.New, c.deps.FlashKey)
	mac.Write(v)
	if !hmac.Equal(s, mac.Sum(nil)) {
		return nil
	}
	kind, text, _ := strings.Cut(string(v), "|")
	return &flash{Kind: kind, Text: text}
}
