package user

import (
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/errs"
)

// domainOf returns a valid domain of exactly n characters (n ≥ 6, ≤ 253): 63-character labels
// and a .com top-level domain.
func domainOf(t *testing.T, n int) string {
	t.Helper()
	var labels []string
	rest := n - len(".com")
	for rest > 0 {
		l := min(63, rest)
		if rest-l == 1 { // a lone dot would be left: shorten this label
			l--
		}
		labels = append(labels, strings.Repeat(string(rune('a'+len(labels))), l))
		rest -= l + 1 // the label and the dot after it
	}
	d := strings.Join(labels, ".") + ".com"
	if len(d) != n {
		t.Fatalf("domainOf(%d) built %d characters", n, len(d))
	}
	return d
}

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	local64 := strings.Repeat("l", 64)
	for _, tc := range []struct {
		name, email, code string // code "" means valid
	}{
		{"plain", "alice@example.com", ""},
		{"mixed case", "Alice.Smith@Example.COM", ""},
		{"plus tag", "alice+tag@example.co.uk", ""},
		{"digits and hyphens in the domain", "a@mail-1.example-2.org", ""},
		{"IDN domain", "user@bücher.de", ""},
		{"IDN domain, non-Latin", "user@例え.jp", ""},
		{"punycode domain", "user@xn--bcher-kva.de", ""},
		{"local part of 64", local64 + "@example.com", ""},
		{"longest valid: 64 + 1 + 253 = 318", local64 + "@" + domainOf(t, 253), ""},

		{"empty", "", "email.required"},
		{"leading space", " alice@example.com", "email.whitespace"},
		{"trailing space", "alice@example.com ", "email.whitespace"},
		{"space in the local part", "ali ce@example.com", "email.whitespace"},
		{"space in the domain", "alice@exam ple.com", "email.whitespace"},
		{"tab", "alice@example.com\t", "identity.control_char"},
		{"newline", "alice@example.com\n", "identity.control_char"},
		{"no-break space", "alice\u00a0@example.com", "email.whitespace"},
		{"only spaces", "   ", "email.whitespace"},

		{"no @", "alice.example.com", "email.invalid"},
		{"two @", "alice@bob@example.com", "email.invalid"},
		{"@ only", "@", "email.invalid"},
		{"empty local part", "@example.com", "email.invalid"},
		{"local part of 65", local64 + "l@example.com", "email.invalid"},
		{"local part starts with a dot", ".alice@example.com", "email.invalid"},
		{"local part ends with a dot", "alice.@example.com", "email.invalid"},
		{"two dots in the local part", "al..ice@example.com", "email.invalid"},
		{"comma in the local part", "ali,ce@example.com", "email.invalid"},
		{"angle brackets", "<alice@example.com>", "email.invalid"},
		{"control character", "ali\x01ce@example.com", "identity.control_char"},

		{"empty domain", "alice@", "email.domain_invalid"},
		{"domain without a dot", "alice@localhost", "email.domain_invalid"},
		{"domain starts with a dot", "alice@.example.com", "email.domain_invalid"},
		{"domain ends with a dot", "alice@example.com.", "email.domain_invalid"},
		{"empty label", "alice@example..com", "email.domain_invalid"},
		{"label starts with a hyphen", "alice@-example.com", "email.domain_invalid"},
		{"label ends with a hyphen", "alice@example-.com", "email.domain_invalid"},
		{"underscore in a label", "alice@ex_ample.com", "email.domain_invalid"},
		{"label of 64", "alice@" + strings.Repeat("d", 64) + ".com", "email.domain_invalid"},
		{"numeric top-level domain", "alice@10.0.0.1", "email.domain_invalid"},
		{"IP literal", "alice@[10.0.0.1]", "email.domain_invalid"},
		{"bad punycode", "alice@xn--.com", "email.domain_invalid"},

		// 320 characters is the ceiling of the length rule, but 64 + 1 + 255 cannot be a
		// valid address: such a domain is over the 253 a DNS name allows. What matters is
		// that it is refused for its domain, not for its length.
		{"320 characters", local64 + "@" + strings.Repeat("d", 63) + "." + strings.Repeat("e", 63) + "." + strings.Repeat("f", 63) + "." + strings.Repeat("g", 59) + ".com", "email.domain_invalid"},
		{"321 characters", local64 + "@" + strings.Repeat("d", 63) + "." + strings.Repeat("e", 63) + "." + strings.Repeat("f", 63) + "." + strings.Repeat("g", 60) + ".com", "email.too_long"},
		{"321 characters, multi-byte", strings.Repeat("é", 300) + "@" + strings.Repeat("d", 16) + ".com", "email.too_long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			switch tc.name {
			case "320 characters", "321 characters", "321 characters, multi-byte":
				want := 320
				if strings.HasPrefix(tc.name, "321") {
					want = 321
				}
				if n := len([]rune(tc.email)); n != want {
					t.Fatalf("the case has %d characters, want %d", n, want)
				}
			}
			fe := ValidateEmail("invitations[3].email", tc.email)
			if tc.code == "" {
				if fe != nil {
					t.Fatalf("ValidateEmail(%q) = %+v, want valid", tc.email, fe)
				}
				return
			}
			if fe == nil {
				t.Fatalf("ValidateEmail(%q) = nil, want %s", tc.email, tc.code)
			}
			if fe.Code != tc.code || fe.Field != "invitations[3].email" || fe.Message == "" {
				t.Fatalf("ValidateEmail(%q) = %+v, want code %s on field invitations[3].email with a message", tc.email, fe, tc.code)
			}
		})
	}
}

func TestValidateUsername(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, username, code string
	}{
		{"one letter", "a", ""},
		{"one digit", "7", ""},
		{"every allowed character", "Az09@_-.x", ""},
		{"an email address", "alice.smith@example.com", ""},
		{"starts with a digit", "1st-user", ""},
		{"100 characters", strings.Repeat("u", 100), ""},

		{"empty", "", "username.required"},
		{"101 characters", strings.Repeat("u", 101), "username.too_long"},
		{"starts with @", "@alice", "username.invalid_start"},
		{"starts with _", "_alice", "username.invalid_start"},
		{"starts with -", "-alice", "username.invalid_start"},
		{"starts with .", ".alice", "username.invalid_start"},
		{"starts with a space", " alice", "username.invalid_start"},
		{"starts with a non-ASCII letter", "élise", "username.invalid_start"},
		{"space inside", "ali ce", "username.invalid_chars"},
		{"plus", "alice+tag@example.com", "username.invalid_chars"},
		{"slash", "a/b", "username.invalid_chars"},
		{"non-ASCII letter inside", "zoë", "username.invalid_chars"},
		{"trailing newline", "alice\n", "identity.control_char"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fe := ValidateUsername("username", tc.username)
			switch {
			case tc.code == "" && fe != nil:
				t.Fatalf("ValidateUsername(%q) = %+v, want valid", tc.username, fe)
			case tc.code != "" && (fe == nil || fe.Code != tc.code || fe.Field != "username"):
				t.Fatalf("ValidateUsername(%q) = %+v, want %s on username", tc.username, fe, tc.code)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		required    bool
		code        string
	}{
		{"one character", "A", true, ""},
		{"50 characters", strings.Repeat("n", 50), true, ""},
		{"50 multi-byte characters", strings.Repeat("é", 50), true, ""},
		{"spaces and punctuation inside", "Anne-Marie O'Neil", true, ""},
		{"empty and optional", "", false, ""},

		{"empty and required", "", true, "name.required"},
		{"51 characters", strings.Repeat("n", 51), true, "name.too_long"},
		{"51 characters, optional", strings.Repeat("n", 51), false, "name.too_long"},
		{"leading space", " Ann", true, "name.whitespace"},
		{"trailing space", "Ann ", false, "name.whitespace"},
		{"only spaces", "   ", true, "name.whitespace"},
		{"control character", "An\x00n", true, "name.invalid"},
		{"newline", "Ann\n", true, "name.invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fe := validateName("first_name", tc.value, tc.required)
			switch {
			case tc.code == "" && fe != nil:
				t.Fatalf("validateName(%q, %v) = %+v, want valid", tc.value, tc.required, fe)
			case tc.code != "" && (fe == nil || fe.Code != tc.code || fe.Field != "first_name"):
				t.Fatalf("validateName(%q, %v) = %+v, want %s on first_name", tc.value, tc.required, fe, tc.code)
			}
		})
	}
}

func TestValidatePhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ phone, code string }{
		{"", ""},
		{"+1 (555) 123-4567", ""},
		{"030.1234.5678", ""},
		{strings.Repeat("1", 32), ""},
		{strings.Repeat("1", 33), "phone.too_long"},
		{"call me", "phone.invalid"},
		{"+44 20 7946 0958 ext 2", "phone.invalid"},
	} {
		t.Run(tc.phone, func(t *testing.T) {
			t.Parallel()
			fe := validatePhone("phone", tc.phone)
			if tc.code == "" && fe != nil || tc.code != "" && (fe == nil || fe.Code != tc.code) {
				t.Fatalf("validatePhone(%q) = %+v, want %q", tc.phone, fe, tc.code)
			}
		})
	}
}

func p(s string) *string { return &s }

func TestProfileValidate(t *testing.T) {
	t.Parallel()
	codes := func(fes []errs.FieldError) map[string]string {
		m := map[string]string{}
		for _, fe := range fes {
			m[fe.Field] = fe.Code
		}
		return m
	}
	for _, tc := range []struct {
		name         string
		p            Profile
		requireNames bool
		want         map[string]string
	}{
		{"complete", Profile{Email: p("a@example.com"), Username: p("a"), FirstName: p("A"), LastName: p("B")}, true, map[string]string{}},
		{"names missing on creation", Profile{Email: p("a@example.com")}, true,
			map[string]string{"first_name": "name.required", "last_name": "name.required"}},
		{"names missing in a patch", Profile{Phone: p("123")}, false, map[string]string{}},
		{"every problem at once", Profile{Email: p("bad"), Username: p("_x"), FirstName: p(""), LastName: p(strings.Repeat("x", 51)),
			Phone: p("abc"), Department: p(strings.Repeat("d", MaxDepartment+1)), ExternalID: p("a\x00b")}, true,
			map[string]string{"email": "email.invalid", "username": "username.invalid_start", "first_name": "name.required",
				"last_name": "name.too_long", "phone": "phone.invalid", "department": "department.too_long", "external_id": "external_id.invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := codes(tc.p.validate(tc.requireNames))
			if len(got) != len(tc.want) {
				t.Fatalf("validate = %v, want %v", got, tc.want)
			}
			for f, c := range tc.want {
				if got[f] != c {
					t.Errorf("field %s: code %q, want %q", f, got[f], c)
				}
			}
		})
	}

	t.Run("a username defaulted from the email says so", func(t *testing.T) {
		t.Parallel()
		email := "alice+tag@example.com"
		fes := (&Profile{Email: &email, Username: &email, FirstName: p("A"), LastName: p("B")}).validate(true)
		if len(fes) != 1 || fes[0].Code != "username.invalid_chars" || !strings.Contains(fes[0].Message, "email") {
			t.Fatalf("validate = %+v, want one username.invalid_chars that mentions the email default", fes)
		}
	})
}
