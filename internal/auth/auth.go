package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
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
	RecordLogin(ctx context.Context, userID string, at time.Time, rehash string) error
	ReserveLoginAttempt(ctx context.Context, userID string, max int, now, staleBefore time.Time) (n int, ok bool, err error)
	ReserveLoginFailure(ctx context.Context, login string, max int, now, expireBefore, unlockBefore time.Time) (n int, ok bool, err error)
	PruneLoginFailures(ctx context.Context, cutoff time.Time, keep int) error
	ClaimResetEmail(ctx context.Context, userID string, now, since time.Time) (bool, error)
	ResetLoginAttempts(ctx context.Context, userID string) error
	LockUser(ctx context.Context, userID string, at time.Time) (bool, error)
	UnlockUserLockedBefore(ctx context.Context, userID string, cutoff, at time.Time) (bool, error)
	RevokeSessions(ctx context.Context, userID string) error
	Sessions(ctx context.Context, userID string) ([]Session, error)
	SetPassword(ctx context.Context, userID, hash string, at time.Time) error
	// ListUsers is user.Store's: the administrators told of a lockout.
	ListUsers(ctx context.Context, f user.Filter) ([]*user.Detail, string, error)
	InsertOneTimeToken(ctx context.Context, hash, purpose, userID string, created, expires time.Time) error
	UseOneTimeToken(ctx context.Context, hash, purpose string, now time.Time) (string, error)
	OneTimeTokenUser(ctx context.Context, hash, purpose string, now time.Time) (string, error)
	DeleteOneTimeTokens(ctx context.Context, userID, purpose string, now time.Time) error

	InsertSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id string) (*Session, error)
	SessionOwner(ctx context.Context, id string) (*Session, *Owner, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error

	InsertToken(ctx context.Context, t *Token) error
	TokenOwner(ctx context.Context, hash string) (*Token, *Owner, error)
	Token(ctx context.Context, id string) (*Token, error)
	Tokens(ctx context.Context, userID string) ([]Token, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
	DeleteToken(ctx context.Context, id string) error

	AppendAudit(ctx context.Context, e audit.Event) error
}

// Options are the sign-in settings.
type Options struct {
	MaxFailures int // consecutive failed sign-ins that lock an account; 5 when zero
	// AutoUnlockAfter unlocks a locked account at its next sign-in attempt once this long has
	// passed since it locked; zero keeps it locked until an administrator unlocks it.
	AutoUnlockAfter time.Duration
	// ResetUnlocks lets a completed password reset clear a lockout (not an administrator's lock).
	ResetUnlocks    bool
	ResetValidFor   time.Duration // how long a reset link works; 60 minutes when zero
	PublicURL       string        // links in emails are built from it, never from request headers
	SessionIdle     time.Duration // a session unused this long ends
	SessionAbsolute time.Duration // a session ends this long after sign-in, used or not
	Limits          *Limits       // DefaultLimits when nil
	// Directory checks the password of a user who comes from a directory, who has none in
	// usher; without it such a user cannot sign in with a password.
	Directory DirectoryAuthenticator
}

// DirectoryAuthenticator checks a directory user's password against their directory (a bind
// as their entry). ok false is a wrong password; an error, a directory that could not answer.
type DirectoryAuthenticator interface {
	Authenticate(ctx context.Context, u *user.User, password string) (ok bool, err error)
}

// Service signs people in and resolves credentials to actors.
type Service struct {
	store     Store
	passwords *Passwords
	opts      Options
	notify    Notifier
	now       func() time.Time

	signInAddress, signInLogin, resetAddress *limiter
	attempts                                 atomic.Int64 // for pruning now and then
	pruning                                  atomic.Bool
}

// NewService returns the sign-in service. notify queues the emails that resets and lockouts
// send; it is required, so that no reset is ever recorded as sent while nothing is.
func NewService(store Store, passwords *Passwords, notify Notifier, opts Options) (*Service, error) {
	if notify == nil {
		return nil, errors.New("auth: no notifier: password resets and lockout notices would send nothing")
	}
	if opts.ResetValidFor <= 0 {
		opts.ResetValidFor = time.Hour
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.SessionIdle == 0 {
		opts.SessionIdle = 2 * time.Hour
	}
	if opts.SessionAbsolute == 0 {
		opts.SessionAbsolute = 12 * time.Hour
	}
	if opts.Limits == nil {
		opts.Limits = &DefaultLimits
	}
	return &Service{store: store, passwords: passwords, notify: notify, opts: opts, now: func() time.Time { return time.Now().UTC() },
		signInAddress: newLimiter(opts.Limits.SignInPerAddress), signInLogin: newLimiter(opts.Limits.SignInPerLogin),
		resetAddress: newLimiter(opts.Limits.ResetPerAddress)}, nil
}

// SessionLifetime is how long a new session's cookie lives, in seconds.
func (s *Service) SessionLifetime() int { return int(s.opts.SessionAbsolute.Seconds()) }

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

// Login checks a password and opens a session.
//
// Every attempt first passes the rate limits of its client address and of its login, then waits
// for a hashing slot, and only then counts: one of MaxFailures attempts on the login as typed,
// whether or not it names an account, and, for an account, one of MaxFailures on the account.
// Only an attempt holding one of the account's has its hash checked; the others check a dummy
// hash in the same time. However many attempts race, on however many replicas, at most MaxFailures
// hashes of an account are checked, and the one that fails last locks it. The answer to a wrong
// password depends only on the count of the login as typed, so a made-up login, an active, a
// disabled and a locked account answer alike at every attempt, in status, body and time, up to
// "locked"; only the right password tells a disabled or locked person what is the matter.
func (s *Service) Login(ctx context.Context, login, password string, c Client) (string, *user.User, error) {
	login = user.CanonicalLogin(login)
	key := loginKey(login)
	if err := s.limitSignIn(c, key); err != nil {
		return "", nil, err
	}
	ctx = withClient(ctx, addressKey(c.IP))
	u, err := s.store.UserByLogin(ctx, login)
	if errs.Is(errs.NotFound, err) {
		u = nil
	} else if err != nil {
		return "", nil, err
	}
	if u != nil && u.Status == user.Locked {
		if err := s.autoUnlock(ctx, u, c); err != nil {
			return "", nil, err
		}
	}
	// The slot first: an attempt the server sheds, or whose client leaves while it waits, must
	// not count against anyone.
	release, err := s.passwords.hold(ctx)
	if err != nil {
		return "", nil, err
	}
	a, err := s.attempt(ctx, key, u, password)
	release()
	if err != nil {
		return "", nil, err
	}
	s.pruneNowAndThen()
	if u == nil {
		s.auditLogin(ctx, "", login, audit.Failure, c, a.reason)
		return "", nil, a.answer
	}
	if !a.match {
		s.auditLogin(ctx, u.ID, u.Username, audit.Failure, c, a.reason)
		if a.lock {
			// Whatever the client does now: the attempt that earned the lock was counted.
			if err := s.lockOut(context.WithoutCancel(ctx), u, s.opts.MaxFailures, c); err != nil {
				return "", nil, err
			}
		}
		return "", nil, a.answer
	}
	if u.Status != user.Active {
		// The right password: the person may learn why they cannot sign in, and need not spend
		// their attempts to learn it again.
		_ = s.store.ResetLoginAttempts(ctx, u.ID)
		s.auditLogin(ctx, u.ID, u.Username, audit.Failure, c, "right password, account "+string(u.Status))
		if u.Status == user.Locked {
			return "", nil, errLocked
		}
		if u.Status == user.Disabled {
			return "", nil, errDisabled
		}
		return "", nil, errInvalidCredentials
	}
	var newHash string
	if a.rehash {
		if newHash, err = s.passwords.Hash(ctx, password); err != nil {
			newHash = ""
		}
	}
	now := s.now()
	token, sess := s.newSession(u, c, now)
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

// newSession makes a session for a user who just signed in, and the token its cookie carries.
func (s *Service) newSession(u *user.User, c Client, now time.Time) (string, *Session) {
	token := newSecret("ses_")
	return token, &Session{ID: digest(token), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.opts.SessionAbsolute), ClientIP: c.IP, UserAgent: truncate(c.UserAgent, 512)}
}

// LoginRetention is how long the count of a login as typed is kept after its last attempt,
// LoginCap how many such counts are kept at most, and StaleAttemptAfter how long an account's
// counter may stand at the threshold without locking it before it starts again.
const (
	LoginRetention    = 30 * 24 * time.Hour
	LoginCap          = 100_000
	StaleAttemptAfter = 15 * time.Minute
)

// attempt is what one sign-in attempt found, holding a hashing slot.
type attempt struct {
	match, rehash bool
	lock          bool  // this failure used the account's last attempt
	answer        error // for a wrong password: what the login as typed has earned
	reason        string
}

// attempt counts the attempt against the login as typed, whose count decides the answer to a
// wrong password, and checks the password: the account's hash when the account has attempts
// left, a dummy hash otherwise. The caller holds a hashing slot.
func (s *Service) attempt(ctx context.Context, key string, u *user.User, password string) (attempt, error) {
	now := s.now()
	var unlockBefore time.Time
	if s.opts.AutoUnlockAfter > 0 {
		unlockBefore = now.Add(-s.opts.AutoUnlockAfter)
	}
	max := s.opts.MaxFailures
	n, ok, err := s.store.ReserveLoginFailure(ctx, key, max, now, now.Add(-LoginRetention), unlockBefore)
	if err != nil {
		return attempt{}, err
	}
	a := attempt{answer: errInvalidCredentials}
	switch {
	case !ok:
		a.answer, a.reason = errLocked, "no attempts left for this login"
	case n >= max:
		a.answer = errLockedNow
	}
	if u == nil {
		s.passwords.verifyHeld("", password)
		if a.reason == "" {
			a.reason = "unknown login"
		}
		return a, nil
	}
	// Whether the account's hash is checked depends on the account's count alone, so the right
	// password works whatever was typed at this login before, until the account locks.
	an, aok, err := s.store.ReserveLoginAttempt(ctx, u.ID, max, now, now.Add(-StaleAttemptAfter))
	if err != nil {
		return attempt{}, err
	}
	if !aok {
		s.passwords.verifyHeld("", password)
		if a.reason == "" {
			a.reason = "no attempts left for this account"
		}
		return a, nil
	}
	directoryDown := false
	if u.Source == user.Directory && u.DirectoryID != "" {
		// The directory decides, by a bind as the user's entry (the attempt is counted above,
		// before the password leaves usher). The bind runs while a dummy hash spends the time
		// of every other attempt, so that a directory user's answer takes the time of anyone's
		// (the longer of the two), not a hash and a bind, which would tell who they are.
		type bound struct {
			ok  bool
			err error
		}
		bind := make(chan bound, 1)
		if s.opts.Directory != nil {
			go func() {
				ok, err := s.opts.Directory.Authenticate(ctx, u, password)
				bind <- bound{ok, err}
			}()
		}
		s.passwords.verifyHeld("", password)
		if s.opts.Directory != nil {
			b := <-bind
			if b.err != nil {
				// Answered as a wrong password (a different answer would tell that the login is
				// a directory user's), but no lockout for the directory's outage.
				slog.Warn("directory sign-in: the directory could not check the password", "user_id", u.ID, "err", b.err)
				directoryDown = true
			}
			a.match = b.ok
		}
	} else {
		a.match, a.rehash = s.passwords.verifyHeld(u.PasswordHash, password)
	}
	if a.match {
		// Given back while the slot is still held: correct sign-ins racing each other must not
		// spend the account's attempts, which only the session's write would reset otherwise.
		if err := s.store.ResetLoginAttempts(ctx, u.ID); err != nil {
			return attempt{}, err
		}
	}
	a.lock = !a.match && an >= max && u.Status == user.Active && !directoryDown
	a.reason = fmt.Sprintf("wrong password (attempt %d of %d, account %s)", an, max, u.Status)
	return a, nil
}

// pruneNowAndThen forgets old and surplus counts of logins as typed, off the request path.
func (s *Service) pruneNowAndThen() {
	if s.attempts.Add(1)%1024 != 0 || !s.pruning.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.pruning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.store.PruneLoginFailures(ctx, s.now().Add(-LoginRetention), LoginCap)
	}()
}

// limitSignIn spends one sign-in of the client's address and of the login, or says when to
// come back. Shed attempts are not audited one by one: a flood would bury the log.
func (s *Service) limitSignIn(c Client, key string) error {
	now := time.Now()
	if wait, ok := s.signInAddress.take(addressKey(c.IP), now); !ok {
		return errs.Later("auth.too_many_attempts",
			"Too many sign-in attempts from your network. Wait a moment, then try again.", wait)
	}
	if wait, ok := s.signInLogin.take(key, now); !ok {
		return errs.Later("auth.too_many_attempts",
			"Too many sign-in attempts for this account. Wait a moment, then try again.", wait)
	}
	return nil
}

var (
	errLocked = errs.E(errs.Forbidden, "auth.account_locked",
		"This account is locked after too many failed sign-ins. Ask an administrator to unlock it.")
	errLockedNow = errs.E(errs.Forbidden, "auth.account_locked",
		"Too many failed sign-ins: this account is now locked. Ask an administrator to unlock it.")
	errDisabled = errs.E(errs.Forbidden, "auth.account_disabled",
		"This account is disabled. Ask an administrator to enable it.")
)

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
