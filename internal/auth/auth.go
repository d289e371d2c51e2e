package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// Store is the persistence auth needs; the store package implements it.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	User(ctx context.Context, id string) (*user.User, error)
	UserByLogin(ctx context.Context, login string) (*user.User, error)
	EffectivePermissions(ctx context.Context, userID string) (user.Permissions, error)
	RecordLogin(ctx context.Context, userID string, at time.Time, rehash string) error

	InsertSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id string) (*Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error

	InsertToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	Token(ctx context.Context, id string) (*Token, error)
	Tokens(ctx context.Context, userID string) ([]Token, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	DeleteToken(ctx context.Context, id string) error

	AppendAudit(ctx context.Context, e audit.Event) error
}

// Options are the sign-in settings.
type Options struct {
	SessionIdle     time.Duration // a session unused this long ends
	SessionAbsolute time.Duration // a session ends this long after sign-in, used or not
}

// Service signs people in and resolves credentials to actors.
type Service struct {
	store     Store
	passwords *Passwords
	opts      Options
	now       func() time.Time
}

// NewService returns the sign-in service.
func NewService(store Store, passwords *Passwords, opts Options) *Service {
	if opts.SessionIdle == 0 {
		opts.SessionIdle = 2 * time.Hour
	}
	if opts.SessionAbsolute == 0 {
		opts.SessionAbsolute = 12 * time.Hour
	}
	return &Service{store: store, passwords: passwords, opts: opts, now: func() time.Time { return time.Now().UTC() }}
}

// SessionLifetime is how long a new session's cookie lives, in seconds.
func (s *Service) SessionLifetime() int { return int(s.opts.SessionAbsolute.Seconds()) }

// Passwords returns the hasher, for the user service.
func (s *Service) Passwords() *Passwords { return s.passwords }

// newSecret returns 256 random bits, URL-safe, with a prefix that says what it is.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// digest is how secrets are stored: they are random and long, so one SHA-256 suffices.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Client describes where a request came from, for sessions and the audit log.
type Client struct {
	IP        string
	UserAgent string
	RequestID string
}

var errInvalidCredentials = errs.E(errs.Unauthenticated, "auth.invalid_credentials", "The username or password is not correct.")

// Login checks a password and opens a session. The answer for an unknown login, a wrong
// password and a user without a password is the same, and takes the same time.
func (s *Service) Login(ctx context.Context, login, password string, c Client) (string, *user.User, error) {
	u, err := s.store.UserByLogin(ctx, login)
	if errs.Is(errs.NotFound, err) {
		s.passwords.Dummy(ctx, password)
		s.auditLogin(ctx, "", login, audit.Failure, c, "unknown login")
		return "", nil, errInvalidCredentials
	} else if err != nil {
		return "", nil, err
	}
	ok, rehash, err := s.passwords.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		s.auditLogin(ctx, u.ID, u.Username, audit.Failure, c, "wrong password")
		return "", nil, errInvalidCredentials
	}
	if !u.Status.CanSignIn() {
		s.auditLogin(ctx, u.ID, u.Username, audit.Failure, c, "account "+string(u.Status))
		return "", nil, refusal(u.Status)
	}
	var newHash string
	if rehash {
		if newHash, err = s.passwords.Hash(ctx, password); err != nil {
			newHash = ""
		}
	}
	now := s.now()
	token := newSecret("ses_")
	sess := &Session{ID: digest(token), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.opts.SessionAbsolute), ClientIP: c.IP, UserAgent: truncate(c.UserAgent, 512)}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertSession(ctx, sess); err != nil {
			return err
		}
		if err := s.store.RecordLogin(ctx, u.ID, now, newHash); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: now, ActorID: u.ID, ActorName: u.Username,
			Action: "auth.login", TargetType: "user", TargetID: u.ID, TargetName: u.Username,
			Outcome: audit.Success, Details: map[string]any{"method": "password"}, RequestID: c.RequestID, ClientIP: c.IP})
	})
	if err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// refusal is what a user who may not sign in is told once their password was right.
func refusal(st user.Status) error {
	switch st {
	case user.Locked:
		return errs.E(errs.Forbidden, "auth.account_locked", "This account is locked. Ask an administrator to unlock it.")
	case user.Disabled:
		return errs.E(errs.Forbidden, "auth.account_disabled", "This account is disabled. Ask an administrator to enable it.")
	}
	return errs.E(errs.Forbidden, "auth.account_inactive", "This account has not been activated yet. Accept your invitation first.")
}

func (s *Service) auditLogin(ctx context.Context, userID, name, outcome string, c Client, reason string) {
	// A failed sign-in changes nothing else, so its event is written on its own.
	_ = s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorID: userID, ActorName: name, Action: "auth.login",
		TargetType: "user", TargetID: userID, TargetName: name, Outcome: outcome,
		Details: map[string]any{"method": "password", "reason": reason}, RequestID: c.RequestID, ClientIP: c.IP})
}

// Logout ends the session the token names.
func (s *Service) Logout(ctx context.Context, a user.Actor, sessionToken string, c Client) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteSession(ctx, digest(sessionToken)); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorID: a.ID, ActorName: a.Name, Action: "auth.logout",
			TargetType: "user", TargetID: a.ID, TargetName: a.Name, Outcome: audit.Success, RequestID: c.RequestID, ClientIP: c.IP})
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
