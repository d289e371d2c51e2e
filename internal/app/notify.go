package app

import (
	"context"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/directory"
	"net/url"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/mail"
	"github.com/usherhq/usher/internal/user"
)

// mailNotifier turns the messages sign-in events send (auth decides which, and to whom) into
// outbox entries, inside the transaction of the event.
type mailNotifier struct {
	outbox *mail.Outbox
}

func recipient(u *user.User) mail.Recipient {
	return mail.Recipient{UserID: u.ID, Name: u.FirstName, Email: u.Email}
}

// enqueue returns what writes a rendered message to the outbox, or the error rendering it gave.
func (n mailNotifier) enqueue(ctx context.Context) func(*mail.Message, error) error {
	return func(m *mail.Message, err error) error {
		if err != nil {
			return err
		}
		_, err = n.outbox.Enqueue(ctx, m)
		return err
	}
}

func (n mailNotifier) PasswordReset(ctx context.Context, u *user.User, link string, validFor time.Duration) error {
	return n.enqueue(ctx)(mail.PasswordReset{To: recipient(u), Link: link, ExpiresIn: validFor}.Message())
}

func (n mailNotifier) AccountLocked(ctx context.Context, u *user.User, failures int, at time.Time) error {
	return n.enqueue(ctx)(mail.AccountLocked{To: recipient(u), At: at, Failures: failures}.Message())
}

func (n mailNotifier) AccountLockedAdmin(ctx context.Context, admin, u *user.User, failures int, at time.Time) error {
	locked := mail.LockedUser{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name()}
	return n.enqueue(ctx)(mail.AccountLockedAdmin{To: recipient(admin), User: locked, At: at, Failures: failures}.Message())
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

// syncNotifier turns the messages about directory syncs into outbox entries, inside the
// transaction that ends the sync.
type syncNotifier struct {
	outbox *mail.Outbox
	cfg    *config.Config // its public URL, read when a message is written (serve may set it after New)
}

// SyncEnded queues the message of how run of d ended to the administrator to.
func (n syncNotifier) SyncEnded(ctx context.Context, to *user.User, d *directory.Directory, run *directory.Run) error {
	c := run.Outcome()
	at := run.CreatedAt
	if run.FinishedAt != nil {
		at = *run.FinishedAt
	}
	m := mail.DirectorySync{To: recipient(to), Directory: d.Name, StartedBy: run.ActorName, At: at, Reason: run.Reason,
		Counts: mail.SyncCounts{Seen: c.Seen, Created: c.Created, Updated: c.Updated, Disabled: c.Disabled,
			Enabled: c.Enabled, Deleted: c.Deleted, Failed: c.Failed}, Link: strings.TrimSuffix(n.cfg.PublicURL, "/") + "/directories/" + url.PathEscape(d.ID)}
	render := m.SummaryMessage
	switch run.Status {
	case directory.RunFailed:
		render = m.FailedMessage
	case directory.RunHeld:
		render = m.HeldMessage
	}
	return mailNotifier{outbox: n.outbox}.enqueue(ctx)(render())
}
