package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// PurposeInvitation marks invitation tokens; a reset token is useless for an invitation and
// an invitation token useless for a reset.
const PurposeInvitation = "invitation"

const invitePrefix = "inv_"

// DefaultInvitationLifetime is how long an invitation link works unless configured (seed 000).
const DefaultInvitationLifetime = 15 * 24 * time.Hour

// MaxInvitationMessage is the longest personal message an invitation email carries, in characters.
const MaxInvitationMessage = 1000

// Invitation is who vouches for an invited user's invitation: the inviter, or whoever last sent
// or copied a link. Their rights are checked again when it is accepted.
type Invitation struct {
	UserID      string
	InviterID   string // empty for usher itself
	InviterName string // for the audit log, as the inviter was known then
	CreatedAt   time.Time
	SentAt      *time.Time // the last invitation email; nil when only links were copied
}

// InvitationStore is the persistence invitations need beyond Store; the store package implements it.
type InvitationStore interface {
	Store
	UpdateUser(ctx context.Context, u *user.User, prevVersion int64) error
	PutInvitation(ctx context.Context, inv *Invitation) error
	Invitation(ctx context.Context, userID string) (*Invitation, error)
	ClaimInvitationEmail(ctx context.Context, userID string, now, since time.Time) (bool, error)
	DeleteInvitation(ctx context.Context, userID string) error
}

// InvitationEmail is what an invitation email says.
type InvitationEmail struct {
	To       *user.User
	Inviter  string // the inviter's name as people know it; empty when usher itself invites
	Link     string
	ValidFor time.Duration
	Message  string // the inviter's own words; may be empty
}

// InvitationNotifier queues invitation emails inside the caller's transaction, so that an email
// exists exactly when its invitation committed.
type InvitationNotifier interface {
	Invitation(ctx context.Context, m InvitationEmail) error
}

// InvitationOptions are the invitation settings.
type InvitationOptions struct {
	ValidFor time.Duration // how long a link works; DefaultInvitationLifetime when zero
	// ResendInterval is the least time between two invitation emails to one person; zero for none.
	ResendInterval time.Duration
}

// Invitations invites people by email and lets them accept: the console and the API call it.
type Invitations struct {
	store  InvitationStore
	users  *user.Service
	signIn *Service
	notify InvitationNotifier
	opts   InvitationOptions
	now    func() time.Time
}

// NewInvitations returns the invitation service. Links are built from the sign-in service's
// public URL; notify queues their emails and cannot be left out.
func NewInvitations(store InvitationStore, users *user.Service, signIn *Service, notify InvitationNotifier, opts InvitationOptions) (*Invitations, error) {
	if store == nil || users == nil || signIn == nil || notify == nil {
		return nil, errNoNotifier
	}
	if opts.ValidFor <= 0 {
		opts.ValidFor = DefaultInvitationLifetime
	}
	return &Invitations{store: store, users: users, signIn: signIn, notify: notify, opts: opts, now: signIn.now}, nil
}

// errNoNotifier is a wiring mistake: an invitation that records success and sends nothing
// would leave the invited person waiting for an email that never comes.
var errNoNotifier = errors.New("auth: invitations have no notifier: no invitation email can be sent")

// InviteResult is the outcome for one address of an invitation request.
type InviteResult struct {
	Email string       // as it was given
	User  *user.Detail // the invited user; nil when the address was not invited
	Err   error        // why not: an *errs.Error with a message for the person inviting, unless something broke
}

// Invite invites each person, in order, each in a transaction of its own: a bad address is
// reported in its result and never keeps the others from being invited. It fails as a whole
// only when the request itself is wrong (no permission, no address or more than
// user.MaxInvitations, a message too long). message goes into every email.
func (iv *Invitations) Invite(ctx context.Context, a user.Actor, people []user.InviteInput, message string) ([]InviteResult, error) {
	if err := a.Require(user.UsersInvite); err != nil {
		return nil, err
	}
	switch {
	case len(people) == 0:
		return nil, errs.Field("invitations", "invitation.none", "Add at least one email address to invite.")
	case len(people) > user.MaxInvitations:
		return nil, errs.Field("invitations", "invitation.too_many",
			"Invite at most 100 people at a time. Send the rest in another invitation, or import them from a file.")
	}
	message, err := invitationMessage(message)
	if err != nil {
		return nil, err
	}
	if iv.notify == nil {
		return nil, errNoNotifier
	}
	inviter, err := iv.inviterName(ctx, a)
	if err != nil {
		return nil, err
	}
	out := make([]InviteResult, len(people))
	seen := map[string]bool{}
	for i, p := range people {
		out[i].Email = p.Email
		email, err := user.InvitationEmail(p.Email)
		if err == nil {
			key := user.DuplicateKey(email)
			if seen[key] {
				err = errs.Field("email", "invitation.email_duplicate", user.InviteEmailDuplicate)
			}
			seen[key] = true
		}
		if err == nil {
			out[i].User, err = iv.inviteOne(ctx, a, p, inviter, message)
		}
		out[i].Err = err
	}
	return out, nil
}

// InviteOne invites one person, as Invite does but without its cap on how many a request may
// carry: for an import, which brings its own rows and limits. The address is checked as Invite
// checks it; the email goes out when the caller's transaction commits.
func (iv *Invitations) InviteOne(ctx context.Context, a user.Actor, p user.InviteInput) (*user.Detail, error) {
	if iv.notify == nil {
		return nil, errNoNotifier
	}
	if _, err := user.InvitationEmail(p.Email); err != nil {
		return nil, err
	}
	inviter, err := iv.inviterName(ctx, a)
	if err != nil {
		return nil, err
	}
	return iv.inviteOne(ctx, a, p, inviter, "")
}

// invitationMessage checks the inviter's personal message: plain text of a bounded length,
// line breaks allowed, no other control or disguising characters. It is escaped in the HTML
// part of the email like everything else.
func invitationMessage(m string) (string, error) {
	m = strings.TrimSpace(norm.NFC.String(strings.ReplaceAll(m, "\r\n", "\n")))
	if utf8.RuneCountInString(m) > MaxInvitationMessage {
		return "", errs.Field("message", "invitation.message_too_long", "The message must be at most 1000 characters.")
	}
	if !utf8.ValidString(m) || strings.IndexFunc(m, func(r rune) bool {
		return r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp))
	}) >= 0 {
		return "", errs.Field("message", "invitation.message_invalid",
			"The message must be plain text: remove control or invisible characters.")
	}
	return m, nil
}

// inviterName is how the invitation email names the one who sends it; empty for usher itself.
func (iv *Invitations) inviterName(ctx context.Context, a user.Actor) (string, error) {
	if a.ID == "" {
		return "", nil
	}
	u, err := iv.store.User(ctx, a.ID)
	if err != nil {
		return "", err
	}
	return u.Name(), nil
}

func (iv *Invitations) inviteOne(ctx context.Context, a user.Actor, p user.InviteInput, inviter, message string) (*user.Detail, error) {
	var out *user.Detail
	err := iv.store.InTx(ctx, func(ctx context.Context) error {
		d, err := iv.users.Invite(ctx, a, p)
		if err != nil {
			return err
		}
		now := iv.now()
		if err := iv.store.PutInvitation(ctx, &Invitation{UserID: d.ID, InviterID: a.ID, InviterName: a.Name,
			CreatedAt: now, SentAt: &now}); err != nil {
			return err
		}
		link, err := iv.newLink(ctx, d.ID, now)
		if err != nil {
			return err
		}
		out = d
		return iv.notify.Invitation(ctx, InvitationEmail{To: d.User, Inviter: inviter, Link: link,
			ValidFor: iv.opts.ValidFor, Message: message})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// newLink ends the user's earlier invitation links and returns a new one, whose token only
// its hash is stored of.
func (iv *Invitations) newLink(ctx context.Context, userID string, now time.Time) (string, error) {
	if err := iv.store.DeleteOneTimeTokens(ctx, userID, PurposeInvitation, now); err != nil {
		return "", err
	}
	token := newSecret(invitePrefix)
	if err := iv.store.InsertOneTimeToken(ctx, digest(token), PurposeInvitation, userID, now, now.Add(iv.opts.ValidFor)); err != nil {
		return "", err
	}
	return iv.signIn.opts.PublicURL + "/invitation?" + url.Values{"token": {token}}.Encode(), nil
}

// Resend emails an invited user a new link; the earlier ones stop working. The actor becomes
// the one who vouches for the invitation. At most one email goes out per ResendInterval.
func (iv *Invitations) Resend(ctx context.Context, a user.Actor, userID string) error {
	if iv.notify == nil {
		return errNoNotifier
	}
	inviter, err := iv.inviterName(ctx, a)
	if err != nil {
		return err
	}
	return iv.store.InTx(ctx, func(ctx context.Context) error {
		u, err := iv.users.InvitedUser(ctx, a, userID)
		if err != nil {
			return err
		}
		now := iv.now()
		if err := iv.vouch(ctx, a, u.ID, now); err != nil {
			return err
		}
		if ok, err := iv.store.ClaimInvitationEmail(ctx, u.ID, now, now.Add(-iv.opts.ResendInterval)); err != nil {
			return err
		} else if !ok {
			wait := iv.opts.ResendInterval
			if inv, err := iv.store.Invitation(ctx, u.ID); err == nil && inv.SentAt != nil {
				wait = inv.SentAt.Add(iv.opts.ResendInterval).Sub(now)
			}
			return errs.Later("invitation.resend_too_soon", "An invitation email went to this person less than "+
				span(iv.opts.ResendInterval)+" ago. Send another later, or copy the invitation link instead.", wait)
		}
		link, err := iv.newLink(ctx, u.ID, now)
		if err != nil {
			return err
		}
		if err := iv.audit(ctx, a, "invitation.resend", u, map[string]any{"valid_for": iv.opts.ValidFor.String()}); err != nil {
			return err
		}
		return iv.notify.Invitation(ctx, InvitationEmail{To: u, Inviter: inviter, Link: link, ValidFor: iv.opts.ValidFor})
	})
}

// Revoke ends an invited user's links. The user stays invited until they are deleted or sent
// a new link.
func (iv *Invitations) Revoke(ctx context.Context, a user.Actor, userID string) error {
	return iv.store.InTx(ctx, func(ctx context.Context) error {
		u, err := iv.users.InvitedUser(ctx, a, userID)
		if err != nil {
			return err
		}
		if err := iv.store.DeleteOneTimeTokens(ctx, u.ID, PurposeInvitation, iv.now()); err != nil {
			return err
		}
		return iv.audit(ctx, a, "invitation.revoke", u, nil)
	})
}

// Link returns a new invitation link for the actor to hand over themselves; the earlier ones
// stop working, and the actor becomes the one who vouches for the invitation. No email is sent.
func (iv *Invitations) Link(ctx context.Context, a user.Actor, userID string) (string, error) {
	var link string
	err := iv.store.InTx(ctx, func(ctx context.Context) error {
		u, err := iv.users.InvitedUser(ctx, a, userID)
		if err != nil {
			return err
		}
		now := iv.now()
		if err := iv.vouch(ctx, a, u.ID, now); err != nil {
			return err
		}
		if link, err = iv.newLink(ctx, u.ID, now); err != nil {
			return err
		}
		return iv.audit(ctx, a, "invitation.link", u, map[string]any{"valid_for": iv.opts.ValidFor.String()})
	})
	if err != nil {
		return "", err
	}
	return link, nil
}

// span says a duration in words: "1 minute", "90 seconds", "2 hours".
func span(d time.Duration) string {
	n, unit := int(d/time.Second), "second"
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		n, unit = int(d/time.Hour), "hour"
	case d >= time.Minute && d%time.Minute == 0:
		n, unit = int(d/time.Minute), "minute"
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// vouch makes the actor the one whose rights an acceptance checks.
func (iv *Invitations) vouch(ctx context.Context, a user.Actor, userID string, now time.Time) error {
	return iv.store.PutInvitation(ctx, &Invitation{UserID: userID, InviterID: a.ID, InviterName: a.Name, CreatedAt: now})
}

func (iv *Invitations) audit(ctx context.Context, a user.Actor, action string, u *user.User, details map[string]any) error {
	return iv.store.AppendAudit(ctx, audit.Event{Time: iv.now(), ActorID: a.ID, ActorName: a.Name, Action: action,
		TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success, Details: details,
		RequestID: a.RequestID, ClientIP: a.ClientIP})
}
