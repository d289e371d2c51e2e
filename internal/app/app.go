// Package app wires usher together: configuration → store → services → HTTP, started and
// stopped as one.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/usherhq/usher/internal/api"
	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/request"
	"github.com/usherhq/usher/internal/secret"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/user"
	"github.com/usherhq/usher/internal/web"
)

// NewLogger returns the logger the configuration asks for, writing to w.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// OpenStore opens and migrates the database the configuration names, and brings the built-in
// roles up to date.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, _, err := openStore(ctx, cfg)
	return st, err
}

// Migrate brings the database the configuration names up to date as OpenStore does, closes it,
// and returns the schema migrations it applied and the schema version it is at.
func Migrate(ctx context.Context, cfg *config.Config) (applied []string, version int64, err error) {
	st, applied, err := openStore(ctx, cfg)
	if err != nil {
		return nil, 0, err
	}
	defer st.Close()
	version, _, err = st.SchemaVersion(ctx)
	return applied, version, err
}

func openStore(ctx context.Context, cfg *config.Config) (*store.Store, []string, error) {
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return nil, nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if err := st.SyncBuiltinRoles(ctx); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("built-in roles: %w", err)
	}
	if err := job.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("job queue tables: %w", err)
	}
	return st, applied, nil
}

// Background is the work that runs beside the HTTP server: River with every worker registered,
// and the mail outbox.
type Background struct {
	Jobs   *job.Runner
	Outbox *mail.Outbox
}

// NewBackground loads the secret key (refusing a key file others can read), builds the mail
// sender the configuration asks for and sets River up on the store. Start it with Jobs.Start.
func NewBackground(cfg *config.Config, st *store.Store, logger *slog.Logger, o job.Options) (*Background, error) {
	box, err := loadSecrets(cfg, st, logger)
	if err != nil {
		return nil, err
	}
	return newBackground(cfg, st, box, logger, o)
}

// loadSecrets loads the box that seals stored secrets.
func loadSecrets(cfg *config.Config, st *store.Store, logger *slog.Logger) (*secret.Box, error) {
	box, err := secret.Load(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if st.Dialect == store.Postgres && cfg.SecretKey == "" {
		logger.Warn("no --secret-key is set: the key generated in the data directory is this replica's alone; give every replica the same --secret-key")
	}
	return box, nil
}

func newBackground(cfg *config.Config, st *store.Store, box *secret.Box, logger *slog.Logger, o job.Options) (*Background, error) {
	sender, err := NewMailSender(cfg, logger)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = logger
	}
	runner, err := job.New(st, o)
	if err != nil {
		return nil, err
	}
	outbox := mail.NewOutbox(st, runner, box, sender, logger)
	if err := job.AddWorker(runner, outbox.Worker()); err != nil {
		return nil, err
	}
	return &Background{Jobs: runner, Outbox: outbox}, nil
}

// NewMailSender is the sender the configuration asks for: SMTP when --smtp-host is set, else
// .eml files in the data directory's mail drop.
func NewMailSender(cfg *config.Config, logger *slog.Logger) (mail.Sender, error) {
	if cfg.SMTPHost == "" {
		return mail.NewFileSender(filepath.Join(cfg.DataDir, "mail"), cfg.MailFrom, logger), nil
	}
	return mail.NewSMTP(mail.SMTPConfig{Host: cfg.SMTPHost, Port: cfg.SMTPPort, TLS: cfg.SMTPTLS,
		Username: cfg.SMTPUsername, Password: cfg.SMTPPassword, From: cfg.MailFrom})
}

// App is a running usher: its store, services and HTTP handler.
type App struct {
	Config  *config.Config
	Logger  *slog.Logger
	Store   *store.Store
	Users   *user.Service
	Auth    *auth.Service
	Setup   *auth.Setup
	Handler http.Handler
	// Metrics is the registry of usher's metrics; Serve serves it on --metrics-listen.
	Metrics *prometheus.Registry
	// Background is the jobs and the mail outbox; Serve starts the jobs. Until they run,
	// messages wait in the outbox.
	Background *Background

	// Invitations invites people by email and lets them accept, for every surface.
	Invitations *auth.Invitations
	// Imports stages, applies and reports imports of users from files.
	Imports *imports.Service
	// Directories manages the LDAP and Active Directory directories users come from.
	Directories *directory.Service
}

// New builds the services and the HTTP handler on an open store: first the secret key and the
// mail outbox, then the services that send mail through it, so that none of them can exist
// without its way to send.
func New(cfg *config.Config, st *store.Store, logger *slog.Logger) (*App, error) {
	box, err := loadSecrets(cfg, st, logger)
	if err != nil {
		return nil, err
	}
	// Page cursors are sealed with a key from the secret key: they work on every replica that
	// shares it and after a restart, and no one without it can read or make one.
	st.SetCursorKey(box.DeriveKey("page cursors"))
	bg, err := newBackground(cfg, st, box, logger, job.Options{})
	if err != nil {
		return nil, err
	}
	passwords := auth.NewPasswords(auth.DefaultHashParams, auth.Policy{MinLength: cfg.PasswordMinLen, MaxLength: auth.DefaultPolicy.MaxLength})
	// Directory users' passwords are checked by the directory service, made below (it needs the
	// user service, which needs sign-in): the seam is bound now, the service set before serving.
	dirAuth := &directoryAuth{}
	signIn, err := auth.NewService(st, passwords, mailNotifier{outbox: bg.Outbox}, auth.Options{Directory: dirAuth, SessionIdle: cfg.SessionIdle,
		SessionAbsolute: cfg.SessionAbsolute, PublicURL: cfg.PublicURL, MaxFailures: cfg.LockoutAfter, AutoUnlockAfter: cfg.AutoUnlockAfter,
		ResetUnlocks: cfg.ResetUnlocks, ResetValidFor: cfg.ResetLinkValid, Limits: &cfg.SignInLimits})
	if err != nil {
		return nil, err
	}
	// The bulk reset_password action, for every surface, sends through auth.
	users, err := user.NewService(st, passwords, signIn.SendReset)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{Config: cfg, Logger: logger, Store: st, Users: users, Metrics: reg, Auth: signIn,
		Setup: auth.NewSetup(st, users), Background: bg}
	a.Invitations, err = auth.NewInvitations(st, users, signIn, mailNotifier{outbox: bg.Outbox},
		auth.InvitationOptions{ValidFor: cfg.InvitationValid, ResendInterval: cfg.InviteResend})
	if err != nil {
		return nil, err
	}
	if a.Imports, err = imports.NewService(st, users, a.Invitations, bg.Jobs, imports.Options{Logger: logger, Lease: cfg.ImportLease, BatchSize: cfg.ImportBatch}); err != nil {
		return nil, err
	}
	if err := job.AddWorker(bg.Jobs, a.Imports.Worker()); err != nil {
		return nil, err
	}
	if a.Directories, err = directory.NewService(st, box, users, bg.Jobs,
		syncNotifier{outbox: bg.Outbox, cfg: cfg}, directory.Options{Logger: logger}); err != nil {
		return nil, err
	}
	if err := job.AddWorker(bg.Jobs, a.Directories.Worker()); err != nil {
		return nil, err
	}
	if err := job.AddWorker(bg.Jobs, a.Directories.ScheduleWorker()); err != nil {
		return nil, err
	}
	if err := job.AddPeriodic(bg.Jobs, directory.ScheduleEvery, directory.ScheduleArgs{}); err != nil {
		return nil, err
	}
	dirAuth.svc = a.Directories
	mailLog := mail.NewLog(st)
	srv := api.New(api.Deps{Users: users, Auth: a.Auth, Setup: a.Setup, Mail: mailLog, Logger: logger, Metrics: reg,
		HTTPS: cfg.HTTPS(), Ready: st.Ping, Invitations: a.Invitations, Imports: a.Imports, ImportMaxSize: cfg.ImportMaxSize,
		Directories: a.Directories, Cursors: st})
	console, err := web.New(web.Deps{Users: users, Auth: a.Auth, Setup: a.Setup, Mail: mailLog, Logger: logger, HTTPS: cfg.HTTPS(),
		FlashKey: box.DeriveKey("flash messages"), Invitations: a.Invitations, PasswordMinLength: cfg.PasswordMinLen,
		Imports: a.Imports, ImportMaxSize: cfg.ImportMaxSize, Directories: a.Directories})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	// The API and the console side by side, each request given its id and client once.
	mux := http.NewServeMux()
	mux.Handle("/api/", srv)
	mux.Handle("GET /healthz", srv)
	mux.Handle("GET /readyz", srv)
	mux.Handle("/", console)
	a.Handler = clientAddress(cfg.TrustedProxies, request.Middleware(cfg.HTTPS(), mux))
	return a, nil
}

// EnsureDefaultAdmin creates the Default Administrator from the configuration on first start,
// or prints a one-time setup link when none is configured. It returns a line for the person
// starting usher on how to sign in.
func (a *App) EnsureDefaultAdmin(ctx context.Context) (string, error) {
	has, err := a.Users.HasDefaultAdmin(ctx)
	if err != nil {
		return "", err
	}
	cfg := a.Config
	login := fmt.Sprintf("open %s/ and sign in (the API: POST %s/api/v1/auth/login)", cfg.PublicURL, cfg.PublicURL)
	if has {
		if cfg.AdminEmail != "" {
			a.Logger.Info("the Default Administrator exists already; --admin-email and --admin-password are ignored")
		}
		return "usher is set up: " + login, nil
	}
	if cfg.AdminEmail != "" {
		pw := cfg.AdminPassword
		d, err := a.Users.CreateDefaultAdmin(ctx, user.System("first start"), user.CreateInput{
			Profile:  user.Profile{Email: &cfg.AdminEmail, FirstName: ptr("Default"), LastName: ptr("Administrator")},
			Password: &pw})
		if err != nil {
			return "", fmt.Errorf("create the Default Administrator from --admin-email: %w", err)
		}
		return fmt.Sprintf("created the Default Administrator %s: %s", d.Email, login), nil
	}
	token, err := a.Setup.Begin(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("no administrator yet: open %s/setup?token=%s to create one (the link works once), or restart with --admin-email and --admin-password", cfg.PublicURL, token), nil
}

func ptr(s string) *string { return &s }

// Serve runs usher until ctx ends, then shuts down gracefully. ready, when not nil, receives the
// address it listens on once it takes requests.
func Serve(ctx context.Context, cfg *config.Config, logger *slog.Logger, ready func(addr string)) error {
	start := time.Now()
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (--listen): %w", cfg.Listen, err)
	}
	defer ln.Close()
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("listen on %s (--metrics-listen): %w", cfg.MetricsListen, err)
		}
		defer metricsLn.Close()
	}
	if cfg.PublicURL == "http://"+cfg.Listen {
		// The default public URL follows the address actually bound (--listen with port 0).
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	a, err := New(cfg, st, logger)
	if err != nil {
		return err
	}
	howTo, err := a.EnsureDefaultAdmin(ctx)
	if err != nil {
		return err
	}
	jobs := a.Background.Jobs
	if err := jobs.Start(ctx); err != nil {
		return err
	}
	// Jobs stop before the store closes. The graceful path below stops them first with the
	// shutdown deadline; this catches the early returns.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := jobs.Stop(sctx); err != nil {
			logger.Warn("stop background jobs", "error", err)
		}
	}()
	// Imports whose job died with an earlier process go on. On SQLite this process alone
	// works the database, so whatever lease an import holds is a dead one's.
	go a.resumeImports(ctx, st.Dialect == store.SQLite)
	logger.Info("email goes to " + fmt.Sprint(a.Background.Outbox.Sender()))
	servers := []served{{"public server (--listen)", publicServer(a.Handler, cfg, logger), ln}}
	if metricsLn != nil {
		servers = append(servers, served{"metrics server (--metrics-listen)", metricsServer(a.Metrics, logger), metricsLn})
		logger.Info("metrics are served at http://" + metricsLn.Addr().String() + "/metrics")
	}
	db := "sqlite " + cfg.DataDir
	if cfg.DatabaseURL != "" {
		db = "postgres"
	}
	logger.Info("usher is ready", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "database", db,
		"startup", time.Since(start).Round(time.Millisecond).String())
	logger.Info(howTo)
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := serveAll(ctx, cfg.ShutdownTimeout, logger, servers, jobs.Stop); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// resumeImports queues the imports whose job died, at once and then as often as a lease runs
// out (on PostgreSQL a replica that died leaves its imports to the others).
func (a *App) resumeImports(ctx context.Context, takeOver bool) {
	tick := time.NewTicker(a.Config.ImportLease)
	defer tick.Stop()
	for {
		if err := a.Imports.Resume(ctx, takeOver); err != nil && ctx.Err() == nil {
			a.Logger.Warn("could not resume imports", "error", err)
		}
		takeOver = false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// served is an HTTP server and the listener it serves on.
type served struct {
	name string
	srv  *http.Server
	ln   net.Listener
}

// serveAll serves every server until ctx ends or one of them fails, then shuts everything down
// in order within timeout: each server stops taking connections and lets its requests end, the
// public one first; then each of stop (the background jobs). The store, closed after, is not
// closed under a request, unless one outlasts the timeout (its connection is then closed, so
// that its writes fail and it ends). A failure of one server does not leave the others
// serving, and a server that does not stop in time does not keep the next from stopping: every
// problem is returned, the failure first.
func serveAll(ctx context.Context, timeout time.Duration, logger *slog.Logger, servers []served, stop ...func(context.Context) error) error {
	failed := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				failed <- fmt.Errorf("the %s stopped: %w", s.name, err)
			}
		}()
	}
	var problems []error
	select {
	case err := <-failed:
		logger.Error(err.Error() + "; shutting everything down")
		problems = append(problems, err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(sctx); err != nil {
			problems = append(problems, fmt.Errorf("shut down the %s: %w", s.name, err))
			s.srv.Close()
		}
	}
	for _, fn := range stop {
		if err := fn(sctx); err != nil {
			problems = append(problems, fmt.Errorf("shutdown: %w", err))
		}
	}
	return errors.Join(problems...)
}

// directoryAuth checks directory users' passwords with the directory service once it exists.
type directoryAuth struct{ svc *directory.Service }

func (d *directoryAuth) Authenticate(ctx context.Context, u *user.User, password string) (bool, error) {
	if d.svc == nil {
		return false, errors.New("app: the directory service is not ready")
	}
	return d.svc.Authenticate(ctx, u, password)
}
