package auth

import (
	"context"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// Session is a signed-in browser or client. Its ID is the hash of the cookie's value.
type Session struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	ClientIP   string
	UserAgent  string
}

// The cookie that carries a session's secret is SessionCookie when usher is served over http and
// HostSessionCookie over https. Browsers accept a "__Host-" cookie only when it is Secure, has
// Path=/ and names no Domain, so no other site under the same parent domain can set or shadow it.
const (
	SessionCookie     = "usher_session"
	HostSessionCookie = "__Host-" + SessionCookie
)

// SessionCookieName is the session cookie's name when usher is, or is not, served over https.
func SessionCookieName(https bool) string {
	if https {
		return HostSessionCookie
	}
	return SessionCookie
}

// touchEvery limits how often a session's or token's last use is written: once a minute is
// enough for idle timeouts and for people reading "last used".
const touchEvery = time.Minute

var errUnauthenticated = errs.E(errs.Unauthenticated, "auth.unauthenticated", "Sign in first: the session or token is missing, expired or revoked.")

// Owner is the user a session or token signs in, with the permissions of all their roles (direct
// and through groups): what the store reads together with the session or token, in one query.
type Owner struct {
	ID          string
	Username    string
	Status      user.Status
	Permissions user.Permissions
}

// SessionActor resolves a session cookie to the actor it signs in.
func (s *Service) SessionActor(ctx context.Context, cookie string) (user.Actor, error) {
	sess, owner, err := s.store.SessionOwner(ctx, digest(cookie))
	if errs.Is(errs.NotFound, err) {
		return user.Actor{}, errUnauthenticated
	} else if err != nil {
		return user.Actor{}, err
	}
	now := s.now()
	if now.After(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) > s.opts.SessionIdle {
		_ = s.store.DeleteSession(ctx, sess.ID)
		return user.Actor{}, errUnauthenticated
	}
	a, err := actor(owner, nil)
	if err != nil {
		return a, err
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			return a, err
		}
	}
	return a, nil
}

// actor builds the actor for an owner who may sign in, limited to scopes when given.
func actor(o *Owner, scopes user.Permissions) (user.Actor, error) {
	if !o.Status.CanSignIn() {
		return user.Actor{}, errUnauthenticated
	}
	perms := o.Permissions
	if scopes != nil {
		var limited []user.Permission
		for _, p := range perms {
			if scopes.Has(p) {
				limited = append(limited, p)
			}
		}
		perms = user.NewPermissions(limited...)
	}
	return user.Actor{ID: o.ID, Name: o.Username, Permissions: perms}, nil
}

// BearerActor resolves an API token to the actor it stands for.
func (s *Service) BearerActor(ctx context.Context, token string) (user.Actor, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return user.Actor{}, errUnauthenticated
	}
	t, owner, err := s.store.TokenOwner(ctx, digest(token))
	if errs.Is(errs.NotFound, err) {
		return user.Actor{}, errUnauthenticated
	} else if err != nil {
		return user.Actor{}, err
	}
	now := s.now()
	if t.ExpiresAt != nil && now.After(*t.ExpiresAt) {
		return user.Actor{}, errUnauthenticated
	}
	var scopes user.Permissions
	if len(t.Scopes) > 0 {
		scopes = t.Scopes
	}
	a, err := actor(owner, scopes)
	if err != nil {
		return a, err
	}
	a.TokenID = t.ID
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchEvery {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			return a, err
		}
	}
	return a, nil
}

// SessionID is the id under which a session cookie's value is stored: its hash.
func SessionID(cookie string) string { return digest(cookie) }
