package user_test

import (
	"slices"
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

func TestSplitAddresses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a@x.org, b@x.org;c@x.org\nd@x.org\r\ne@x.org", []string{"a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"}},
		{"a@x.org b@x.org\tc@x.org\u00a0d@x.org", []string{"a@x.org", "b@x.org", "c@x.org", "d@x.org"}},
		{"Ada Lovelace <ada@x.org>; \"Hopper, Grace\" <grace@x.org>", []string{"ada@x.org", "grace@x.org"}},
		{"\"unclosed, quote a@x.org\nb@x.org", []string{"\"unclosed,", "quote", "a@x.org", "b@x.org"}},
		{"Ada <ada@x.org>, bob@x.org", []string{"ada@x.org", "bob@x.org"}},
		{"<> a@x.org", []string{"<>", "a@x.org"}},
		{"Ada <ada@x.org> trailing", []string{"Ada", "<ada@x.org>", "trailing"}},
		{" , ;\n ", nil},
	} {
		if got := user.SplitAddresses(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("SplitAddresses(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
