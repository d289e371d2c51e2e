package user

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/usherhq/usher/internal/errs"
)

// Identities are the names people and permissions are known by: emails, usernames, role,
// group and custom field names. Each is stored in one form, so that what looks the same is the
// same: surrounding spaces trimmed and Unicode NFC ("é" typed as e + ´ is the one character é).
// Characters that hide or disguise text are refused rather than removed, since the person
// typing them may not know they are there: control characters, the characters that reorder
// text (bidi overrides, embeddings, isolates and marks) and invisible ones (format characters
// such as zero-width spaces, and other default-ignorable code points).

// canonical is the stored form of an identity: surrounding spaces trimmed, NFC.
func canonical(s string) string {
	return norm.NFC.String(strings.TrimSpace(s))
}

// canonicalPtr points *p at the canonical form of what it pointed at (leaving the caller's
// string as it was); nil stays nil.
func canonicalPtr(p **string) {
	if *p != nil {
		v := canonical(**p)
		*p = &v
	}
}

// CanonicalLogin is the form in which a sign-in name (an email or a username) is looked up:
// surrounding spaces trimmed, NFC and lower case, as usernames and emails are stored and
// compared. Every sign-in path (password sign-in, reset requests) calls it on what was typed,
// so that each form of the same name finds the same account and counts as the same login.
func CanonicalLogin(s string) string {
	return strings.ToLower(canonical(s))
}

// bidiControls are the characters that change the direction of the text around them: with
// them "ad\u202Enimda@…" shows as another address.
var bidiControls = []*unicode.RangeTable{{R16: []unicode.Range16{
	{Lo: 0x061C, Hi: 0x061C, Stride: 1}, // ARABIC LETTER MARK
	{Lo: 0x200E, Hi: 0x200F, Stride: 1}, // LEFT-TO-RIGHT and RIGHT-TO-LEFT MARK
	{Lo: 0x202A, Hi: 0x202E, Stride: 1}, // embeddings, POP DIRECTIONAL FORMATTING, overrides
	{Lo: 0x2066, Hi: 0x2069, Stride: 1}, // isolates
}}}

// invisible are the characters that show as nothing: format characters (Cf: zero-width
// spaces and joiners, the byte order mark, soft hyphens, tags…) and the other
// default-ignorable ones (variation selectors, Hangul fillers, the combining grapheme joiner).
var invisible = []*unicode.RangeTable{unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector}

// lineBreaks are control characters in all but name: the line and paragraph separators.
var lineBreaks = []*unicode.RangeTable{unicode.Zl, unicode.Zp}

// checkChars refuses the characters no identity may hold. what names the value for a person
// ("The email address"); it starts the message.
func checkChars(field, what, s string) *errs.FieldError {
	bad := func(code, msg string) *errs.FieldError {
		return &errs.FieldError{Field: field, Code: code, Message: msg}
	}
	if !utf8.ValidString(s) {
		return bad("identity.invalid_utf8", what+" is not valid UTF-8 text. Type it again.")
	}
	pos := 0
	for _, r := range s {
		pos++
		if r >= 0x20 && r < 0x7f {
			continue // printable ASCII, most of what is typed
		}
		at := fmt.Sprintf("(U+%04X, character %d)", r, pos)
		switch {
		case unicode.IsControl(r) || unicode.In(r, lineBreaks...):
			return bad("identity.control_char", what+" contains a control character "+at+
				", such as a line break, a tab or NUL. Remove it.")
		case unicode.In(r, bidiControls...):
			return bad("identity.bidi_char", what+" contains a character that changes the direction of text "+at+
				", which can make it show as something else. Remove it.")
		case unicode.In(r, invisible...):
			return bad("identity.invisible_char", what+" contains an invisible character "+at+
				", such as a zero-width space. Remove it.")
		}
	}
	return nil
}

// Skeleton is the look-alike key of an email address or a username: two that look alike have
// the same skeleton. It is the confusables skeleton of Unicode Technical Standard #39 (Cyrillic
// а and Latin a, the digit 0 and the letter O, "rn" and "m" have one skeleton), taken of the
// compatibility-normalised, case-folded text (fullwidth ａ is a, ﬁ is fi, A is a) and
// case-folded again, since usher compares identities without regard to case. A skeleton is
// for comparing only, never for showing.
func Skeleton(s string) string {
	if ascii(s) {
		return asciiSkeleton(s)
	}
	return skeleton(s)
}

func skeleton(s string) string {
	s = norm.NFKC.String(cases.Fold().String(norm.NFKC.String(s)))
	return norm.NFD.String(cases.Fold().String(confusables.Skeleton(s)))
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiSkeletons is the skeleton of each ASCII character: for ASCII text, the skeleton is
// theirs one after the other (TestSkeletonASCII checks it), which is much quicker to build.
var asciiSkeletons = sync.OnceValue(func() (t [utf8.RuneSelf]string) {
	for c := range t {
		t[c] = skeleton(string(rune(c)))
	}
	return t
})

func asciiSkeleton(s string) string {
	t := asciiSkeletons()
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		b.WriteString(t[s[i]])
	}
	return b.String()
}

// What a person reads when an email or a username clashes with another user's.
const (
	emailTaken        = "This email address already belongs to a user, as their email address or their username."
	usernameTaken     = "This username is already taken, as another user's username or email address."
	lookalikeHow      = " It differs from theirs only in characters that look alike, such as a Cyrillic а for a Latin a, a fullwidth letter, or the digit 0 for the letter O, so people could take one for the other."
	emailLookalike    = "This email address looks like the email address or username of another user." + lookalikeHow + " Use another address."
	usernameLookalike = "This username looks like the username or email address of another user." + lookalikeHow + " Choose another username."
)

// checkIdentities refuses u's email (when email is set) and username (when username is set)
// if another user has them, as their email or their username, or has one that looks like them
// (the same Skeleton). It runs in the change's transaction, where UsersLike makes changes to
// look-alike identities wait for each other; the store's unique skeleton indexes back it up
// for every other path.
func (s *Service) checkIdentities(ctx context.Context, u *User, email, username bool) error {
	var skeletons []string
	if email {
		skeletons = append(skeletons, Skeleton(u.Email))
	}
	if username {
		skeletons = append(skeletons, Skeleton(u.Username))
	}
	if len(skeletons) == 0 {
		return nil
	}
	others, err := s.store.UsersLike(ctx, skeletons)
	if err != nil {
		return err
	}
	taken, like := map[string]bool{}, map[string]bool{}
	for _, o := range others {
		if o.ID != u.ID {
			claimIdentities(o, taken, like)
		}
	}
	return identityClash(u, email, username, taken, like)
}

// claimIdentities adds u's email and username to the identities taken (their canonical forms)
// and to those others may not look like (their skeletons).
func claimIdentities(u *User, taken, like map[string]bool) {
	for _, v := range []string{u.Email, u.Username} {
		if v != "" {
			taken[CanonicalLogin(v)], like[Skeleton(v)] = true, true
		}
	}
}
