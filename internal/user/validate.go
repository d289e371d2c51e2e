package user

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/usherhq/usher/internal/errs"
)

// Limits of the user fields.
const (
	MaxEmail      = 320
	MaxUsername   = 100
	MaxName       = 50
	MaxPhone      = 32
	MaxDepartment = 100
	MaxExternalID = 255
)

// ValidateEmail checks an address by DESIGN §2's rules. It is the only email check in usher:
// the API, the console, invitations, imports and directory sync all use it. It checks the
// address as given; Service stores it trimmed and in NFC first (see canonical).
func ValidateEmail(field, email string) *errs.FieldError {
	bad := func(code, msg string) *errs.FieldError {
		return &errs.FieldError{Field: field, Code: code, Message: msg}
	}
	if fe := checkChars(field, "The email address", email); fe != nil {
		return fe
	}
	switch {
	case email == "":
		return bad("email.required", "The email address must not be empty.")
	case strings.IndexFunc(email, unicode.IsSpace) >= 0:
		return bad("email.whitespace", "The email address must not contain spaces, before, between or after.")
	case utf8.RuneCountInString(email) > MaxEmail:
		return bad("email.too_long", "The email address must be at most 320 characters.")
	case strings.Count(email, "@") != 1:
		return bad("email.invalid", "The email address must contain exactly one @.")
	}
	local, domain, _ := strings.Cut(email, "@")
	if !validLocalPart(local) {
		return bad("email.invalid", "The part of the email address before the @ is not valid.")
	}
	if !validDomain(domain) {
		return bad("email.domain_invalid", "The email address must have a valid domain, for example name@example.com.")
	}
	return nil
}

func validLocalPart(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`()<>[]\,;:"`, r) {
			return false
		}
	}
	return true
}

func validDomain(d string) bool {
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || len(ascii) > 253 {
		return false
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.IndexFunc(tld, func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// ValidateUsername checks a username: 1–100 characters, starting with a letter or a digit, made
// only of A–Z a–z 0–9 @ _ - and '.'.
func ValidateUsername(field, username string) *errs.FieldError {
	bad := func(code, msg string) *errs.FieldError {
		return &errs.FieldError{Field: field, Code: code, Message: msg}
	}
	if fe := checkChars(field, "The username", username); fe != nil {
		return fe
	}
	switch {
	case username == "":
		return bad("username.required", "The username must not be empty.")
	case len(username) > MaxUsername:
		return bad("username.too_long", "The username must be at most 100 characters.")
	case !isAlnum(username[0]):
		return bad("username.invalid_start", "The username must start with a letter or a digit.")
	}
	for i := 0; i < len(username); i++ {
		c := username[i]
		if !isAlnum(c) && c != '@' && c != '_' && c != '-' && c != '.' {
			return bad("username.invalid_chars", "The username may only contain letters A–Z, digits and @ _ - . characters.")
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validateName checks a first or last name; required says whether it may be empty.
func validateName(field, name string, required bool) *errs.FieldError {
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0 && required:
		return &errs.FieldError{Field: field, Code: "name.required", Message: "This name must not be empty."}
	case n > MaxName:
		return &errs.FieldError{Field: field, Code: "name.too_long", Message: "This name must be at most 50 characters."}
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return &errs.FieldError{Field: field, Code: "name.invalid", Message: "This name must not contain control characters."}
	case n > 0 && strings.TrimSpace(name) != name:
		return &errs.FieldError{Field: field, Code: "name.whitespace", Message: "This name must not start or end with spaces."}
	}
	return nil
}

func validatePhone(field, phone string) *errs.FieldError {
	if len(phone) > MaxPhone {
		return &errs.FieldError{Field: field, Code: "phone.too_long", Message: "The phone number must be at most 32 characters."}
	}
	for _, r := range phone {
		if !(r >= '0' && r <= '9' || strings.ContainsRune("+-() .", r)) {
			return &errs.FieldError{Field: field, Code: "phone.invalid", Message: "The phone number may only contain digits, spaces and + - ( ) . characters."}
		}
	}
	return nil
}

func validateText(field, value string, max int) *errs.FieldError {
	if utf8.RuneCountInString(value) > max {
		return &errs.FieldError{Field: field, Code: field + ".too_long", Message: "This value is too long."}
	}
	if strings.IndexFunc(value, unicode.IsControl) >= 0 {
		return &errs.FieldError{Field: field, Code: field + ".invalid", Message: "This value must not contain control characters."}
	}
	return nil
}

// Profile is the set of attributes a person or a source may write. A nil pointer means "not
// given" in a patch.
type Profile struct {
	Username   *string
	Email      *string
	FirstName  *string
	LastName   *string
	Phone      *string
	Department *string
	ManagerID  *string
	// Manager names the manager by email or username, as a person types it in a form or a
	// file; the service finds the user and sets ManagerID (empty clears). Not with ManagerID.
	Manager     *string
	ManagerName *string
	ExternalID  *string
	Custom      map[string]*string // custom field name → raw value (nil clears)
}

// canonicalise puts the email, the username and the names in the form they are stored and
// compared and searched in (see canonical): a person's surrounding spaces and way of typing
// accents make no difference.
func (p *Profile) canonicalise() {
	canonicalPtr(&p.Email)
	canonicalPtr(&p.Username)
	for _, name := range []**string{&p.FirstName, &p.LastName} {
		if *name != nil { // in NFC only: surrounding spaces in a name are refused, not trimmed
			v := norm.NFC.String(**name)
			*name = &v
		}
	}
}

// validate checks every given attribute and returns all the problems at once. requireNames is
// set for local creation, where first and last name are mandatory.
func (p *Profile) validate(requireNames bool) []errs.FieldError {
	var out []errs.FieldError
	add := func(fe *errs.FieldError) {
		if fe != nil {
			out = append(out, *fe)
		}
	}
	if p.Email != nil {
		add(ValidateEmail("email", *p.Email))
	}
	if p.Username != nil {
		fe := ValidateUsername("username", *p.Username)
		switch {
		case fe != nil && p.Email != nil && *p.Username == *p.Email && strings.HasPrefix(fe.Code, "identity."):
			// The same character in the same text: the email's error says it.
		case fe != nil && p.Email != nil && *p.Username == *p.Email:
			fe.Message += " It defaults to the email address; give a username."
			add(fe)
		default:
			add(fe)
		}
	}
	if p.FirstName != nil || requireNames {
		add(validateName("first_name", deref(p.FirstName), requireNames))
	}
	if p.LastName != nil || requireNames {
		add(validateName("last_name", deref(p.LastName), requireNames))
	}
	if p.Phone != nil {
		add(validatePhone("phone", *p.Phone))
	}
	if p.Department != nil {
		add(validateText("department", *p.Department, MaxDepartment))
	}
	if p.ManagerName != nil {
		add(validateText("manager_name", *p.ManagerName, MaxName*2+1))
	}
	if p.ExternalID != nil {
		add(validateText("external_id", *p.ExternalID, MaxExternalID))
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
