// Package web is usher's server-rendered pages. So far: the first-start setup page that the
// one-time link in the server log opens, and the page an emailed password reset link opens.
package web

import (
	"embed"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

//go:embed templates/*.html
var templateFS embed.FS

// Pages serves the console's pages.
type Pages struct {
	setup  *auth.Setup
	auth   *auth.Service
	logger *slog.Logger
	tmpl   *template.Template
}

// New parses the templates; a broken template fails here, at start-up, not on a request.
func New(setup *auth.Setup, authSvc *auth.Service, logger *slog.Logger) (*Pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	return &Pages{setup: setup, auth: authSvc, logger: logger, tmpl: t}, nil
}

// Routes adds the pages to mux.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /setup", p.setupForm)
	mux.HandleFunc("POST /setup", p.setupSubmit)
	mux.HandleFunc("GET /reset-password", p.resetForm)
	mux.HandleFunc("POST /reset-password", p.resetSubmit)
}

type setupPage struct {
	Token   string
	Values  map[string]string
	Errors  map[string]string
	Message string
	Done    *user.Detail
}

func (p *Pages) setupForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, setupPage{Token: r.URL.Query().Get("token"), Values: map[string]string{}})
}

func (p *Pages) setupSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	v := map[string]string{}
	for _, k := range []string{"email", "username", "first_name", "last_name"} {
		v[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	pw := r.PostForm.Get("password")
	in := user.CreateInput{Profile: user.Profile{Email: ptr(v["email"]), FirstName: ptr(v["first_name"]), LastName: ptr(v["last_name"])}, Password: &pw}
	if v["username"] != "" {
		in.Username = ptr(v["username"])
	}
	d, err := p.setup.Complete(r.Context(), r.PostForm.Get("token"), in, clientOf(r))
	page := setupPage{Token: r.PostForm.Get("token"), Values: v, Errors: map[string]string{}}
	if err != nil {
		e, ok := errs.As(err)
		if !ok || e.Kind == errs.Internal {
			p.logger.Error("setup failed", "err", err)
			page.Message = "Something went wrong on the server; the log has the details."
			p.render(w, http.StatusInternalServerError, page)
			return
		}
		page.Message = e.Message
		for _, f := range e.Fields {
			page.Errors[f.Field] = f.Message
		}
		status, _ := e.Kind.HTTPStatus()
		p.render(w, status, page)
		return
	}
	page.Done = d
	p.render(w, http.StatusCreated, page)
}

func (p *Pages) render(w http.ResponseWriter, status int, data setupPage) {
	p.renderPage(w, status, "setup.html", data)
}

func (p *Pages) renderPage(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := p.tmpl.ExecuteTemplate(w, name, data); err != nil {
		p.logger.Error("render page", "page", name, "err", err)
	}
}

func ptr(s string) *string { return &s }

func clientOf(r *http.Request) auth.Client {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return auth.Client{IP: host, UserAgent: r.UserAgent(), RequestID: r.Header.Get("X-Request-Id")}
}
