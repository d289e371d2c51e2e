package auth

import (
	"context"
	"fmt"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// Sessions lists the actor's own sessions, newest first.
func (s *Service) Sessions(ctx context.Context, a user.Actor) ([]Session, error) {
	if a.ID == "" {
		return nil, errUnauthenticated
	}
	return s.store.Sessions(ctx, a.ID)
}

// EndSession ends one of the actor's own sessions.
func (s *Service) EndSession(ctx context.Context, a user.Actor, id string) error {
	return s.store.InTx(ctx, func(ctx context.Context) error {
		ss, err := s.store.Session(ctx, id)
		if errs.Is(errs.NotFound, err) || err == nil && ss.UserID != a.ID {
			return errs.E(errs.NotFound, "session.not_found", "There is no such session of yours.")
		} else if err != nil {
			return err
		}
		if err := s.store.DeleteSession(ctx, id); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorID: a.ID, ActorName: a.Name, Action: "auth.session_end",
			TargetType: "user", TargetID: a.ID, TargetName: a.Name, Outcome: audit.Success,
			Details: map[string]any{"client_ip": ss.ClientIP}, RequestID: a.RequestID, ClientIP: a.ClientIP})
	})
}

// ChangePassword sets the actor's own password after checking the current one. The check counts
// toward lockout like a sign-in. Every session of the user ends, this one included.
func (s *Service) ChangePassword(ctx context.Context, a user.Actor, current, next string) error {
	if a.ID == "" {
		return errUnauthenticated
	}
	if a.TokenID != "" {
		return errs.E(errs.Forbidden, "auth.password_from_token", "Passwords are changed from a signed-in session, not with an API token.")
	}
	hash, err := s.passwords.Hash(ctx, next)
	if err != nil {
		return errs.Prefix(err, "new_")
	}
	u, err := s.store.User(ctx, a.ID)
	if err != nil {
		return err
	}
	c := Client{IP: a.ClientIP, RequestID: a.RequestID}
	release, err := s.passwords.hold(withClient(ctx, addressKey(c.IP)))
	if err != nil {
		return err
	}
	now := s.now()
	n, ok, err := s.store.ReserveLoginAttempt(ctx, u.ID, s.opts.MaxFailures, now, now.Add(-StaleAttemptAfter))
	if err != nil || !ok {
		release()
		if err == nil {
			err = errLocked
		}
		return err
	}
	match, _ := s.passwords.verifyHeld(u.PasswordHash, current)
	release()
	if !match {
		s.auditLogin(ctx, u.ID, u.Username, audit.Failure, c, fmt.Sprintf("wrong current password on change (attempt %d of %d)", n, s.opts.MaxFailures))
		if n >= s.opts.MaxFailures {
			if err := s.lockOut(ctx, u, n, c); err != nil {
				return err
			}
			return errLockedNow
		}
		return errs.Field("current_password", "auth.wrong_password", "The current password is not correct.")
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		if err := s.store.ResetLoginAttempts(ctx, u.ID); err != nil {
			return err
		}
		if err := s.store.SetPassword(ctx, u.ID, hash, now); err != nil {
			return err
		}
		if err := s.store.RevokeSessions(ctx, u.ID); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, audit.Event{Time: now, ActorID: u.ID, ActorName: u.Username, Action: "auth.password_change",
			TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success, RequestID: c.RequestID, ClientIP: c.IP})
	})
}
