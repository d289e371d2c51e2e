package user

import (
	"context"
	"strings"
	"unicode"

	"github.com/usherhq/usher/internal/errs"
)

// MaxInvitations is how many addresses one invitation request may carry.
const MaxInvitations = 100

// The messages a person inviting sees next to an address (seed 000).
const (
	InviteEmailEmpty     = "Enter an email address."
	InviteEmailSpaces    = "Remove the spaces from the email address."
	InviteEmailInvalid   = "Enter a valid email address, like name@example.com."
	InviteEmailDuplicate = "This email has already been added."
	InviteEmailTaken     = "A user with this email already exists."
)

// SplitAddresses splits text pasted into an invitation box or read from a list into addresses.
// Commas, semicolons and line breaks separate entries (not inside double quotes); white space
// separates addresses within an entry, except that an entry with an address in angle brackets,
// as mail programs copy them ("Lovelace, Ada" <ada@example.com>), gives that address alone.
func SplitAddresses(s string) []string {
	quoted := false
	entries := strings.FieldsFunc(s, func(r rune) bool {
		if r == '"' {
			quoted = !quoted
		}
		return r == '\n' || r == '\r' || !quoted && (r == ',' || r == ';')
	})
	var out []string
	for _, entry := range entries {
		if open := strings.LastIndexByte(entry, '<'); open >= 0 {
			if end := strings.IndexByte(entry[open:], '>'); end > 0 && strings.TrimSpace(entry[open+end+1:]) == "" {
				if addr := strings.TrimSpace(entry[open+1 : open+end]); addr != "" {
					out = append(out, addr)
					continue
				}
			}
		}
		out = append(out, strings.FieldsFunc(entry, unicode.IsSpace)...)
	}
	return out
}

// InvitationEmail checks an address as it was typed into an invitation, by DESIGN §2's email
// rules but with the invitation's own messages: an invitation refuses spaces anywhere, even
// around the address, where a profile form trims them. It returns the address as it is
// stored (see canonical); DuplicateKey gives the form two addresses are compared in.
func InvitationEmail(raw string) (string, error) {
	bad := func(code, msg string) error { return errs.Field("email", code, msg) }
	switch {
	case strings.TrimSpace(raw) == "":
		return "", bad("invitation.email_required", InviteEmailEmpty)
	case strings.IndexFunc(raw, unicode.IsSpace) >= 0:
		return "", bad("invitation.email_spaces", InviteEmailSpaces)
	}
	email := canonical(raw)
	if fe := ValidateEmail("email", email); fe != nil {
		if strings.HasPrefix(fe.Code, "identity.") {
			// A hidden or disguising character: its own message says which and where.
			return "", &errs.Error{Kind: errs.Invalid, Code: fe.Code, Message: fe.Message, Fields: []errs.FieldError{*fe}}
		}
		return "", bad("invitation.email_invalid", InviteEmailInvalid)
	}
	return email, nil
}

// DuplicateKey is the form in which two addresses of one invitation request are the same.
func DuplicateKey(email string) string { return CanonicalLogin(email) }

// InviteInput is one person to invite.
type InviteInput struct {
	Email    string   // as typed; see InvitationEmail
	RoleIDs  []string // nil gives the Viewer role; an empty list gives none
	GroupIDs []string
	// Profile is what else is known of the person, when an import file gives it (names, phone,
	// department, custom values); its Email is ignored. Names are optional: the person gives
	// them when accepting.
	Profile Profile
}

// Invite creates a user in status invited, with the roles and groups the invitation carries
// (which the actor must hold: no escalation), and writes the one user.invite event. Called in
// a transaction, the caller adds the link and its email to the same change.
func (s *Service) Invite(ctx context.Context, a Actor, in InviteInput) (*Detail, error) {
	if err := a.Require(UsersInvite); err != nil {
		return nil, err
	}
	email, err := InvitationEmail(in.Email)
	if err != nil {
		return nil, err
	}
	p := in.Profile
	p.Email = &email
	d, err := s.createUser(ctx, a, CreateInput{Profile: p, RoleIDs: in.RoleIDs, GroupIDs: in.GroupIDs}, createInvited)
	e, ok := errs.As(err)
	switch {
	case ok && e.Kind == errs.Conflict && e.Code == "user.email_taken":
		return nil, &errs.Error{Kind: errs.Conflict, Code: "invitation.email_taken", Message: InviteEmailTaken, Err: err,
			Fields: []errs.FieldError{{Field: "email", Code: "invitation.email_taken", Message: InviteEmailTaken}}}
	case ok && e.Kind == errs.Invalid && len(e.Fields) == 1 && e.Fields[0].Field == "username" && in.Profile.Username == nil:
		// The username defaults to the address, and usernames are ASCII: the person inviting
		// typed only an address, so the address is what the message is about.
		return nil, errs.Field("email", "invitation.email_not_username",
			"This address cannot also be the username (usernames hold only the letters A–Z, digits and @ _ - .): create this user with a username of their own instead.")
	}
	return d, err
}

// InvitedUser returns the user whose invitation the actor wants to resend, revoke or copy a
// link of: the actor needs users.invite and every permission the user holds (whoever renews
// an invitation vouches for it, as its inviter did), and the user must still be invited.
func (s *Service) InvitedUser(ctx context.Context, a Actor, id string) (*User, error) {
	if err := a.Require(UsersInvite); err != nil {
		return nil, err
	}
	u, err := s.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Status != Invited {
		return nil, errs.E(errs.Conflict, "invitation.not_invited",
			"This user is "+string(u.Status)+", not invited: only an invited user's invitation can be sent again, revoked or copied.")
	}
	if err := s.guardTarget(ctx, a, u, "invite"); err != nil {
		return nil, err
	}
	return u, nil
}

// CheckInviter says whether an invitation still stands when it is accepted: the one who
// vouches for it (inviterID; empty for usher itself) must still exist, not be disabled, hold
// users.invite and every permission the invited user would get. The invited user's roles
// may have changed since, and so may the inviter's.
func (s *Service) CheckInviter(ctx context.Context, inviterID, invitedID string) error {
	if inviterID == "" {
		return nil
	}
	lost := func(why string) error {
		return errs.E(errs.Forbidden, "invitation.inviter_lost_rights",
			"This invitation can no longer be accepted: "+why+" Ask an administrator to send you a new invitation.")
	}
	inviter, err := s.store.User(ctx, inviterID)
	if errs.Is(errs.NotFound, err) {
		return lost("the person who invited you no longer has an account.")
	} else if err != nil {
		return err
	}
	if inviter.Status == Disabled {
		return lost("the account of the person who invited you is disabled.")
	}
	held, err := s.store.EffectivePermissions(ctx, inviterID)
	if err != nil {
		return err
	}
	if !held.Has(UsersInvite) {
		return lost("the person who invited you may no longer invite people.")
	}
	given, err := s.store.EffectivePermissions(ctx, invitedID)
	if err != nil {
		return err
	}
	if !held.Covers(given) {
		return lost("the person who invited you may no longer give the access it carries.")
	}
	return nil
}

// ValidateNames checks the first and last name a person gives for themselves (when they
// accept an invitation), both required, and returns them as they are stored.
func ValidateNames(first, last string) (string, string, error) {
	p := Profile{FirstName: &first, LastName: &last}
	p.canonicalise()
	var bad []errs.FieldError
	for _, fe := range []*errs.FieldError{validateName("first_name", *p.FirstName, true), validateName("last_name", *p.LastName, true)} {
		if fe != nil {
			bad = append(bad, *fe)
		}
	}
	return *p.FirstName, *p.LastName, errs.Fields(bad)
}
