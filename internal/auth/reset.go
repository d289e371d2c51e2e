package auth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// PurposeReset marks password reset tokens; a token of one purpose is useless for another.
const PurposeReset = "password_reset"

const resetPrefix = "rst_"

// ResetAnswerFloor is the least time a reset request takes, so that the answer for an existing
// account and a missing one cannot be told apart by timing either.
const ResetAnswerFloor = 250 * time.Millisecond

var errResetInvalid = errs.E(errs.Invalid, "auth.reset_invalid",
	"This password reset link is not valid: it was used already, it expired, or a newer one was sent. Ask for a new one.")

// RequestReset emails a single-use reset link to the account with this email, if there is one
// that may reset its password and none was sent on request within the reset interval. The
// caller learns nothing either way: no error, the same time. A client address that asks too
// often is refused before anything is looked up.
func (s *Service) RequestReset(ctx context.Context, email string, c Client) error {
	if wait, ok := s.resetAddress.take(addressKey(c.IP), time.Now()); !ok {
		return errs.Later("auth.too_many_resets",
			"Too many password reset requests from your network. Wait a moment, then try again.", wait)
	}
	start := time.Now()
	defer func() {
		if d := ResetAnswerFloor - time.Since(start); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
	}()
	email = user.CanonicalLogin(email)
	u, err := s.store.UserByLogin(ctx, email)
	eligible := err == nil && strings.EqualFold(u.Email, email) && s.mayReset(u)
	if err != nil && !errs.Is(errs.NotFound, err) {
		return err
	}
	if !eligible {
		_ = s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorName: "anonymous", Action: "auth.reset_request",
			TargetType: "user", Outcome: audit.Failure, Details: map[string]any{"reason": "no account may reset with this email"},
			RequestID: c.RequestID, ClientIP: c.IP})
		return nil
	}
	return s.sendReset(ctx, u, user.Actor{Name: "anonymous", RequestID: c.RequestID, ClientIP: c.IP}, "auth.reset_request")
}

// errResetRecent ends an anonymous request's transaction when the account was sent a link
// within the interval; the requester is answered as usual.
var errResetRecent = errs.E(errs.Conflict, "auth.reset_recent", "A reset email was sent to this account moments ago.")

// mayReset says whether a user can reset their password: active users, and locked ones when the
// policy lets a completed reset clear the lock.
func (s *Service) mayReset(u *user.User) bool {
	if u.Source == user.Directory {
		return false // their password is the directory's: usher keeps none to reset
	}
	return u.Status == user.Active || u.Status == user.Locked && s.opts.ResetUnlocks
}

// sendReset makes a reset token and queues its email with the audit event, in one transaction.
func (s *Service) sendReset(ctx context.Context, u *user.User, a user.Actor, action string) error {
	token := newSecret(resetPrefix)
	now := s.now()
	link := s.opts.PublicURL + "/reset-password?" + url.Values{"token": {token}}.Encode()
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if action == "auth.reset_request" && s.opts.Limits.ResetInterval > 0 {
			ok, err := s.store.ClaimResetEmail(ctx, u.ID, now, now.Add(-s.opts.Limits.ResetInterval))
			if err != nil {
				return err
			}
			if !ok {
				return errResetRecent
			}
		}
		if err := s.store.InsertOneTimeToken(ctx, digest(token), PurposeReset, u.ID, now, now.Add(s.opts.ResetValidFor)); err != nil {
			return err
		}
		if err := s.store.AppendAudit(ctx, audit.Event{Time: now, ActorID: a.ID, ActorName: a.Name, Action: action,
			TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success,
			Details: map[string]any{"valid_for": s.opts.ResetValidFor.String()}, RequestID: a.RequestID, ClientIP: a.ClientIP}); err != nil {
			return err
		}
		return s.notify.PasswordReset(ctx, u, link, s.opts.ResetValidFor)
	})
	if errors.Is(err, errResetRecent) {
		_ = s.store.AppendAudit(ctx, audit.Event{Time: now, ActorName: a.Name, Action: action, TargetType: "user",
			TargetID: u.ID, TargetName: u.Username, Outcome: audit.Failure,
			Details:   map[string]any{"reason": "a reset email was sent within " + s.opts.Limits.ResetInterval.String()},
			RequestID: a.RequestID, ClientIP: a.ClientIP})
		return nil
	}
	return err
}

// SendReset is an administrator sending a user a password reset email.
func (s *Service) SendReset(ctx context.Context, a user.Actor, userID string) error {
	if err := a.Require(user.UsersLock); err != nil {
		return err
	}
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return err
	}
	if u.Source == user.Directory {
		return errs.E(errs.Conflict, "auth.reset_not_allowed",
			"This user signs in with their directory password: it is changed in the directory, not here.")
	}
	if !s.mayReset(u) {
		return errs.E(errs.Conflict, "auth.reset_not_allowed",
			"This user is "+string(u.Status)+": only users who may sign in can be sent a password reset.")
	}
	return s.sendReset(ctx, u, a, "user.reset_password")
}

// ConfirmReset sets a new password with a reset token. The token is used up, every session of
// the user ends, and, when the policy says so, a lock is cleared.
func (s *Service) ConfirmReset(ctx context.Context, token, password string, c Client) error {
	hash, err := s.passwords.Hash(withClient(ctx, addressKey(c.IP)), password)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(token, resetPrefix) {
		return errResetInvalid
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		userID, err := s.store.UseOneTimeToken(ctx, digest(token), PurposeReset, now)
		if errs.Is(errs.NotFound, err) {
			return errResetInvalid
		} else if err != nil {
			return err
		}
		u, err := s.store.User(ctx, userID)
		if err != nil {
			return err
		}
		if !s.mayReset(u) {
			return errResetInvalid
		}
		details := map[string]any{}
		if u.Status == user.Locked {
			if _, err := user.Transition(user.Locked, user.Unlock, u.Accepted()); err != nil {
				return err
			}
			if ok, err := s.store.UnlockUserLockedBefore(ctx, u.ID, now, now); err != nil {
				return err
			} else if !ok {
				// An administrator's lock (no lockout time) is not cleared by a reset.
				return errLocked
			}
			details["unlocked"] = true
		}
		if err := s.store.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := s.store.RevokeSessions(ctx, u.ID); err != nil {
			return err
		}
		if err := s.store.DeleteOneTimeTokens(ctx, u.ID, PurposeReset, now); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: now, ActorID: u.ID, ActorName: u.Username, Action: "auth.password_reset",
			TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success, Details: details,
			RequestID: c.RequestID, ClientIP: c.IP})
	})
}
