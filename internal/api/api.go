// Package api is usher's REST API under /api/v1: huma on the standard library's ServeMux, an
// OpenAPI 3.1 document generated from the code, RFC 9457 problems, and the authentication and
// permission check that every operation passes through. Handlers are thin: decode, one service
// call, encode. Every route is listed in routes.go.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/request"
	"github.com/usherhq/usher/internal/user"
)

// Version is the API's version in the OpenAPI document.
const Version = "1.0.0"

// Deps are the services the API calls.
type Deps struct {
	Users   *user.Service
	Auth    *auth.Service
	Setup   *auth.Setup
	Mail    *mail.Log
	Logger  *slog.Logger
	Metrics *prometheus.Registry // where HTTP metrics go; nil for none. The app serves it apart.
	// HTTPS is set when the public URL is https: every response then carries
	// Strict-Transport-Security and the session cookie is the Secure __Host- one.
	HTTPS bool
	// Ready reports whether the server can take traffic (the database answers).
	Ready func(ctx context.Context) error

	// Invitations invites people and lets them accept.
	Invitations *auth.Invitations
	// Imports stages, applies and reports imports; ImportMaxSize is the largest file it takes.
	Imports       *imports.Service
	ImportMaxSize int64
	// Directories manages the LDAP and Active Directory directories users come from.
	Directories *directory.Service
	// Cursors seals the cursors of the lists the API makes of several (the jobs list).
	Cursors Cursors
}

// Cursors seals and opens page cursors under usher's cursor key (store.Store), bound to the
// query's filters; Open refuses with filter.cursor_invalid a cursor Seal did not make for them.
type Cursors interface {
	SealCursor(v any, query ...string) string
	OpenCursor(token string, v any, query ...string) error
}

// Server is the HTTP API.
type Server struct {
	deps    Deps
	cookie  string // the session cookie's name
	mux     *http.ServeMux
	api     huma.API
	handler http.Handler // the mux behind cross-origin protection
	outer   http.Handler // handler behind request.Middleware and the metrics
	metrics *httpMetrics
}

// New builds the API and registers every route.
func New(deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: deps, cookie: auth.SessionCookieName(deps.HTTPS), mux: http.NewServeMux()}
	config := huma.DefaultConfig("usher", Version)
	config.Info.Description = "User management: users, statuses, roles, groups, custom fields, API tokens and the audit log."
	config.OpenAPIPath = "/api/v1/openapi"
	config.DocsPath = ""
	config.SchemasPath = ""
	config.CreateHooks = nil // no "$schema" field in responses
	config.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	config.Servers = []*huma.Server{{URL: "/", Description: "This usher: the paths below start at its public URL."}}
	config.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer":  {Type: "http", Scheme: "bearer", Description: "An API token made with POST /api/v1/tokens."},
		"session": {Type: "apiKey", In: "cookie", Name: s.cookie, Description: "The session cookie that POST /api/v1/auth/login sets."},
	}
	s.api = humago.New(s.mux, config)
	s.api.UseMiddleware(s.authenticate, s.strictJSON)
	s.routes()
	documentProblems(s.api.OpenAPI())
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.ready)
	if deps.Metrics != nil {
		s.metrics = newHTTPMetrics(deps.Metrics)
	}
	s.handler = http.NewCrossOriginProtection().Handler(s.mux)
	s.outer = request.Middleware(deps.HTTPS, http.HandlerFunc(s.serve))
	return s
}

// OpenAPI returns the API's OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// ServeHTTP serves the API and the health checks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.outer.ServeHTTP(w, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("Cache-Control", "no-store")
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, s.deps.Logger))
	s.handler.ServeHTTP(sw, r)
	if s.metrics != nil {
		s.metrics.observe(r, sw.status, time.Since(start))
	}
}

// ready answers 200 when the database answers within two seconds, 503 otherwise.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.deps.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.deps.Ready(ctx); err != nil {
			s.deps.Logger.Warn("not ready", "err", err)
			http.Error(w, "not ready: the database does not answer", http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}

type loggerKey struct{}

func requestIDFrom(ctx context.Context) string { return request.FromContext(ctx).ID }

func logError(ctx context.Context, msg string, err error) {
	logger, _ := ctx.Value(loggerKey{}).(*slog.Logger)
	if logger == nil {
		logger = slog.Default()
	}
	logger.Error(msg, "request_id", requestIDFrom(ctx), "err", err)
}

func client(ctx context.Context) auth.Client {
	info := request.FromContext(ctx)
	return auth.Client{IP: info.IP, UserAgent: info.UserAgent, RequestID: info.ID}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
