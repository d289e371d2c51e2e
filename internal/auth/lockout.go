package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/user"
)

// lockoutActor is who locks and auto-unlocks accounts in the audit log.
const lockoutActor = "system:lockout"

// lockOut locks u after its last allowed attempt failed: the status change, the end of its
// sessions, the audit event and the notice emails commit together. When attempts race, only
// one of them changes anything.
func (s *Service) lockOut(ctx context.Context, u *user.User, attempts int, c Client) error {
	if _, err := user.Transition(user.Active, user.Lock, u.Accepted()); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		locked, err := s.store.LockUser(ctx, u.ID, now)
		if err != nil || !locked {
			return err
		}
		if err := s.store.RevokeSessions(ctx, u.ID); err != nil {
			return err
		}
		if err := s.store.AppendAudit(ctx, audit.Event{Time: now, ActorName: lockoutActor, Action: "user.lock",
			TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success,
			Details:   map[string]any{"from": string(user.Active), "to": string(user.Locked), "reason": "failed sign-ins", "attempts": attempts},
			RequestID: c.RequestID, ClientIP: c.IP}); err != nil {
			return err
		}
		return s.notifyLock(ctx, u, attempts, now)
	})
}

// MaxLockNotices bounds how many administrators hear of one lockout.
const MaxLockNotices = 50

// notifyLock tells the locked user, and every active administrator (at most MaxLockNotices of
// them; a locked administrator hears of their own lockout once), inside the lock's transaction.
func (s *Service) notifyLock(ctx context.Context, u *user.User, failures int, at time.Time) error {
	if err := s.notify.AccountLocked(ctx, u, failures, at); err != nil {
		return err
	}
	admins, _, err := s.store.ListUsers(ctx, user.Filter{RoleID: user.AdministratorRole, Status: user.Active, Limit: MaxLockNotices})
	if err != nil {
		return fmt.Errorf("lock notice: administrators: %w", err)
	}
	for _, admin := range admins {
		if admin.ID == u.ID {
			continue
		}
		if err := s.notify.AccountLockedAdmin(ctx, admin.User, u, failures, at); err != nil {
			return err
		}
	}
	return nil
}

// DefaultAdminUnlockAfter ends a lockout of the Default Administrator even when auto-unlock is
// off: that account must never be locked out for good (`usher admin unlock` is faster).
const DefaultAdminUnlockAfter = 15 * time.Minute

// autoUnlock unlocks u when the policy allows it and the delay has passed, and updates u.
func (s *Service) autoUnlock(ctx context.Context, u *user.User, c Client) error {
	delay := s.opts.AutoUnlockAfter
	if u.DefaultAdmin && (delay <= 0 || delay > DefaultAdminUnlockAfter) {
		delay = DefaultAdminUnlockAfter
	}
	if delay <= 0 {
		return nil
	}
	if _, err := user.Transition(user.Locked, user.Unlock, u.Accepted()); err != nil {
		return nil
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		unlocked, err := s.store.UnlockUserLockedBefore(ctx, u.ID, now.Add(-delay), now)
		if err != nil || !unlocked {
			return err
		}
		u.Status = user.Active
		return s.store.AppendAudit(ctx, audit.Event{Time: now, ActorName: lockoutActor, Action: "user.unlock",
			TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success,
			Details:   map[string]any{"from": string(user.Locked), "to": string(user.Active), "reason": "auto-unlock delay passed", "delay": delay.String()},
			RequestID: c.RequestID, ClientIP: c.IP})
	})
}

// Notifier queues the emails that sign-in events cause, inside the caller's transaction, so an
// email exists exactly when its cause committed. The Service decides who is told what; the
// Notifier writes each message.
type Notifier interface {
	// PasswordReset sends u the link that resets their password.
	PasswordReset(ctx context.Context, u *user.User, link string, validFor time.Duration) error
	// AccountLocked tells u that their account locked after failures failed sign-ins.
	AccountLocked(ctx context.Context, u *user.User, failures int, at time.Time) error
	// AccountLockedAdmin tells the administrator admin that u's account locked.
	AccountLockedAdmin(ctx context.Context, admin, u *user.User, failures int, at time.Time) error
}
