package user_test

import (
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// TestInvitationEmail: an address typed into an invitation gets the invitation's messages, and
// spaces are refused wherever they are, not trimmed.
func TestInvitationEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, code, message string
	}{
		{"ada@example.org", "ada@example.org", "", ""},
		{"Ada@Exämple.org", "Ada@Exämple.org", "", ""},
		{"ade\u0301@example.org", "ad\u00e9@example.org", "", ""}, // stored in NFC
		{"", "", "invitation.email_required", user.InviteEmailEmpty},
		{" \t", "", "invitation.email_required", user.InviteEmailEmpty},
		{" ada@example.org", "", "invitation.email_spaces", user.InviteEmailSpaces},
		{"ada@example.org ", "", "invitation.email_spaces", user.InviteEmailSpaces},
		{"ada @example.org", "", "invitation.email_spaces", user.InviteEmailSpaces},
		{"ada@exam\tple.org", "", "invitation.email_spaces", user.InviteEmailSpaces},
		{"ada", "", "invitation.email_invalid", user.InviteEmailInvalid},
		{"ada@@example.org", "", "invitation.email_invalid", user.InviteEmailInvalid},
		{"ada@localhost", "", "invitation.email_invalid", user.InviteEmailInvalid},
		{"ada@-example.org", "", "invitation.email_invalid", user.InviteEmailInvalid},
		{".ada@example.org", "", "invitation.email_invalid", user.InviteEmailInvalid},
		{"ad\u202ea@example.org", "", "identity.bidi_char", ""},
	} {
		got, err := user.InvitationEmail(tc.in)
		e, _ := errs.As(err)
		switch {
		case tc.code == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %q %v, want %q", tc.in, got, err, tc.want)
		case tc.code != "" && (e == nil || e.Code != tc.code || tc.message != "" && e.Message != tc.message || len(e.Fields) != 1 || e.Fields[0].Field != "email"):
			t.Errorf("%q: %v, want %s %q on the email field", tc.in, err, tc.code, tc.message)
		}
	}
	if user.DuplicateKey("Ada@Example.ORG") != user.DuplicateKey("ada@example.org") {
		t.Error("addresses differing in case are not duplicates")
	}
}
