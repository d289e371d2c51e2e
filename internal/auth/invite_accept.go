package auth

import (
	"context"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// AcceptAnswerFloor is the least time accepting an invitation takes, whatever the answer, so
// that an unknown, a used and an expired link cannot be told apart by timing either.
const AcceptAnswerFloor = 250 * time.Millisecond

var errInvitationInvalid = errs.E(errs.Invalid, "invitation.invalid",
	"This invitation link is not valid: it was used already, it expired, it was revoked, or a newer one was sent. Ask the person who invited you for a new one.")

// AcceptInput is what an invited person gives to accept.
type AcceptInput struct {
	FirstName string
	LastName  string
	Password  string
}

// Accept uses an invitation link's token once: the invited user gets their names and
// password and becomes active, the link and its siblings end, and they are signed in. It
// returns the new session's token, as Login does. The one who vouches for the invitation must
// still have the right to give what it carries (user.Service.CheckInviter). An unknown, used,
// expired or revoked link gets one answer, in the same time.
func (iv *Invitations) Accept(ctx context.Context, token string, in AcceptInput, c Client) (string, *user.User, error) {
	start := time.Now()
	defer func() {
		if d := AcceptAnswerFloor - time.Since(start); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
	}()
	first, last, err := user.ValidateNames(in.FirstName, in.LastName)
	var bad []errs.FieldError
	if e, ok := errs.As(err); ok {
		bad = append(bad, e.Fields...)
	}
	if e, ok := errs.As(iv.signIn.passwords.Check(in.Password)); ok {
		bad = append(bad, e.Fields...)
	}
	if err := errs.Fields(bad); err != nil {
		return "", nil, err
	}
	// Hashed whether or not the token is good, so that both take the same time.
	hash, err := iv.signIn.passwords.Hash(withClient(ctx, addressKey(c.IP)), in.Password)
	if err != nil {
		return "", nil, err
	}
	var r acceptance
	if !strings.HasPrefix(token, invitePrefix) {
		r.reason, err = "not an invitation link", errInvitationInvalid
	} else {
		err = iv.accept(ctx, token, first, last, hash, c, &r)
	}
	if err != nil {
		if r.reason != "" {
			// A refused acceptance changes nothing, so its event is written on its own.
			ev := audit.Event{Time: iv.now(), ActorName: "anonymous", Action: "invitation.accept", TargetType: "user",
				Outcome: audit.Failure, Details: map[string]any{"reason": r.reason}, RequestID: c.RequestID, ClientIP: c.IP}
			if r.user != nil {
				ev.TargetID, ev.TargetName = r.user.ID, r.user.Username
			}
			_ = iv.store.AppendAudit(ctx, ev)
		}
		return "", nil, err
	}
	return r.session, r.user, nil
}

// Invitee returns the invited user an invitation link is for, when Accept would take it now
// (as far as the link goes: the names, the password and the inviter's rights are checked on
// accepting). The page the link opens says at once that a used or expired link no longer works,
// in Accept's words, rather than after the person has filled in the form.
func (iv *Invitations) Invitee(ctx context.Context, token string) (*user.User, error) {
	if !strings.HasPrefix(token, invitePrefix) {
		return nil, errInvitationInvalid
	}
	userID, err := iv.store.OneTimeTokenUser(ctx, digest(token), PurposeInvitation, iv.now())
	if errs.Is(errs.NotFound, err) {
		return nil, errInvitationInvalid
	} else if err != nil {
		return nil, err
	}
	u, err := iv.store.User(ctx, userID)
	if errs.Is(errs.NotFound, err) {
		return nil, errInvitationInvalid
	} else if err != nil {
		return nil, err
	}
	switch u.Status {
	case user.Invited:
		return u, nil
	case user.Disabled:
		return nil, errDisabled
	}
	return nil, errInvitationInvalid
}

// acceptance is what Accept's transaction found: the invited user, once the link named one;
// the new session's token; why the link was refused, for the audit log.
type acceptance struct {
	user            *user.User
	session, reason string
}

// accept is Accept's transaction.
func (iv *Invitations) accept(ctx context.Context, token, first, last, hash string, c Client, r *acceptance) error {
	return iv.store.InTx(ctx, func(ctx context.Context) error {
		now := iv.now()
		userID, err := iv.store.UseOneTimeToken(ctx, digest(token), PurposeInvitation, now)
		if errs.Is(errs.NotFound, err) {
			r.reason = "unknown, used, revoked or expired link"
			return errInvitationInvalid
		} else if err != nil {
			return err
		}
		u, err := iv.store.User(ctx, userID)
		if err != nil {
			return err
		}
		r.user = u
		switch u.Status {
		case user.Invited:
		case user.Disabled:
			r.reason = "account disabled"
			return errDisabled
		default:
			r.reason = "account " + string(u.Status) + ", not invited"
			return errInvitationInvalid
		}
		inv, err := iv.store.Invitation(ctx, u.ID)
		if errs.Is(errs.NotFound, err) {
			r.reason = "no invitation on record"
			return errInvitationInvalid
		} else if err != nil {
			return err
		}
		if err := iv.users.CheckInviter(ctx, inv.InviterID, u.ID); err != nil {
			r.reason = "the inviter's rights: " + err.Error()
			return err
		}
		to, err := user.Transition(u.Status, user.Accept, u.Accepted())
		if err != nil {
			return err
		}
		prev := u.Version
		u.Status, u.FirstName, u.LastName, u.PasswordHash = to, first, last, hash
		u.ActivatedAt, u.UpdatedAt, u.Version = &now, now, u.Version+1
		if err := iv.store.UpdateUser(ctx, u, prev); err != nil {
			return err
		}
		if err := iv.store.DeleteOneTimeTokens(ctx, u.ID, PurposeInvitation, now); err != nil {
			return err
		}
		if err := iv.store.DeleteInvitation(ctx, u.ID); err != nil {
			return err
		}
		var sess *Session
		r.session, sess = iv.signIn.newSession(u, c, now)
		if err := iv.store.InsertSession(ctx, sess); err != nil {
			return err
		}
		if err := iv.store.RecordLogin(ctx, u.ID, now, ""); err != nil {
			return err
		}
		return iv.store.AppendAudit(ctx, audit.Event{Time: now, ActorID: u.ID, ActorName: u.Username,
			Action: "invitation.accept", TargetType: "user", TargetID: u.ID, TargetName: u.Username, Outcome: audit.Success,
			Details:   map[string]any{"invited_by": inv.InviterName, "signed_in": true},
			RequestID: c.RequestID, ClientIP: c.IP})
	})
}
