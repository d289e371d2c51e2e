package app

import (
	"context"
	"fmt"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/user"
)

// mailNotifier turns sign-in events into outbox messages, inside the transaction of the event.
type mailNotifier struct {
	outbox *mail.Outbox
	users  *user.Service
}

func recipient(u *user.User) mail.Recipient {
	return mail.Recipient{UserID: u.ID, Name: u.FirstName, Email: u.Email}
}

func (n mailNotifier) PasswordReset(ctx context.Context, u *user.User, link string, validFor time.Duration) error {
	m, err := mail.PasswordReset{To: recipient(u), Link: link, ExpiresIn: validFor}.Message()
	if err != nil {
		return err
	}
	_, err = n.outbox.Enqueue(ctx, m)
	return err
}

// maxLockNotices bounds how many administrators hear of one lockout.
const maxLockNotices = 50

// AccountLocked tells the user and every active administrator.
func (n mailNotifier) AccountLocked(ctx context.Context, u *user.User, failures int, at time.Time) error {
	m, err := mail.AccountLocked{To: recipient(u), At: at, Failures: failures}.Message()
	if err != nil {
		return err
	}
	if _, err := n.outbox.Enqueue(ctx, m); err != nil {
		return err
	}
	admins, err := n.users.ListUsers(ctx, user.System("lockout notice"), user.Filter{RoleID: user.AdministratorRole,
		Status: user.Active, Limit: maxLockNotices})
	if err != nil {
		return fmt.Errorf("lock notice: administrators: %w", err)
	}
	locked := mail.LockedUser{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name()}
	for _, admin := range admins.Users {
		if admin.ID == u.ID {
			continue
		}
		m, err := mail.AccountLockedAdmin{To: recipient(admin.User), User: locked, At: at, Failures: failures}.Message()
		if err != nil {
			return err
		}
		if _, err := n.outbox.Enqueue(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// Invitation queues an invitation email to the invited person.
func (n mailNotifier) Invitation(ctx context.Context, m auth.InvitationEmail) error {
	msg, err := mail.Invitation{To: recipient(m.To), Inviter: m.Inviter, Link: m.Link, ExpiresIn: m.ValidFor, Note: m.Message}.Message()
	if err != nil {
		return err
	}
	_, err = n.outbox.Enqueue(ctx, msg)
	return err
}
