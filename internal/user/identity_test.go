package user

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/errs"
)

// hostile are characters that no identity may hold, each with the code that refuses it.
var hostile = []struct {
	name, char, code string
}{
	{"NUL", "\x00", "identity.control_char"},
	{"newline", "\n", "identity.control_char"},
	{"carriage return", "\r", "identity.control_char"},
	{"tab", "\t", "identity.control_char"},
	{"escape", "\x1b", "identity.control_char"},
	{"DEL", "\x7f", "identity.control_char"},
	{"C1 control (NEL)", "\u0085", "identity.control_char"},
	{"line separator", "\u2028", "identity.control_char"},
	{"paragraph separator", "\u2029", "identity.control_char"},
	{"right-to-left override", "\u202e", "identity.bidi_char"},
	{"left-to-right override", "\u202d", "identity.bidi_char"},
	{"right-to-left embedding", "\u202b", "identity.bidi_char"},
	{"pop directional formatting", "\u202c", "identity.bidi_char"},
	{"right-to-left isolate", "\u2067", "identity.bidi_char"},
	{"pop directional isolate", "\u2069", "identity.bidi_char"},
	{"left-to-right mark", "\u200e", "identity.bidi_char"},
	{"right-to-left mark", "\u200f", "identity.bidi_char"},
	{"Arabic letter mark", "\u061c", "identity.bidi_char"},
	{"zero-width space", "\u200b", "identity.invisible_char"},
	{"zero-width non-joiner", "\u200c", "identity.invisible_char"},
	{"zero-width joiner", "\u200d", "identity.invisible_char"},
	{"word joiner", "\u2060", "identity.invisible_char"},
	{"byte order mark", "\ufeff", "identity.invisible_char"},
	{"soft hyphen", "\u00ad", "identity.invisible_char"},
	{"Mongolian vowel separator", "\u180e", "identity.invisible_char"},
	{"tag letter", "\U000e0041", "identity.invisible_char"},
	{"variation selector", "\ufe0f", "identity.invisible_char"},
	{"combining grapheme joiner", "\u034f", "identity.invisible_char"},
	{"Hangul filler", "\u3164", "identity.invisible_char"},
	{"invalid UTF-8", "\xff", "identity.invalid_utf8"},
}

// TestHostileCharacters puts each hostile character inside every kind of identity and checks
// that it is refused with its code, on the identity's field, with a message naming it.
func TestHostileCharacters(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		kind, field, what string
		check             func(v string) []errs.FieldError
	}{
		{"email", "email", "email address", func(v string) []errs.FieldError {
			return one(ValidateEmail("email", "ad"+v+"min@example.com"))
		}},
		{"username", "username", "username", func(v string) []errs.FieldError {
			return one(ValidateUsername("username", "ad"+v+"min"))
		}},
		{"role name", "name", "role name", func(v string) []errs.FieldError {
			return (&RoleInput{Name: p("Sales " + v + "lead")}).validate(true)
		}},
		{"group name", "name", "group name", func(v string) []errs.FieldError {
			return (&GroupInput{Name: p("Sales" + v + "team")}).validate(true)
		}},
		{"custom field name", "name", "custom field name", func(v string) []errs.FieldError {
			return (&FieldInput{Name: "cost" + v + "centre", Label: p("Cost centre"), Type: TextField}).validate(true)
		}},
		{"custom field label", "label", "custom field label", func(v string) []errs.FieldError {
			return (&FieldInput{Name: "cost_centre", Label: p("Cost" + v + "centre"), Type: TextField}).validate(true)
		}},
	}
	for _, k := range kinds {
		for _, h := range hostile {
			t.Run(k.kind+"/"+h.name, func(t *testing.T) {
				t.Parallel()
				fes := k.check(h.char)
				if len(fes) != 1 || fes[0].Code != h.code || fes[0].Field != k.field || !strings.Contains(fes[0].Message, k.what) {
					t.Fatalf("%s with %q: %+v, want one %s on %s naming the %s", k.kind, h.char, fes, h.code, k.field, k.what)
				}
			})
		}
		t.Run(k.kind+"/clean", func(t *testing.T) {
			t.Parallel()
			if fes := k.check("_"); len(fes) != 0 {
				t.Fatalf("%s without a hostile character: %+v, want valid", k.kind, fes)
			}
		})
	}
}

func one(fe *errs.FieldError) []errs.FieldError {
	if fe == nil {
		return nil
	}
	return []errs.FieldError{*fe}
}

// TestHostileMessageSaysWhere checks that the message names the character and its place.
func TestHostileMessageSaysWhere(t *testing.T) {
	t.Parallel()
	fe := ValidateEmail("email", "ad\u202emin@example.com")
	if fe == nil || !strings.Contains(fe.Message, "U+202E") || !strings.Contains(fe.Message, "character 3") {
		t.Fatalf("ValidateEmail = %+v, want a message naming U+202E at character 3", fe)
	}
}

func TestCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, identity, login string }{
		{"alice@example.com", "alice@example.com", "alice@example.com"},
		{"  Alice@Example.com\t\n", "Alice@Example.com", "alice@example.com"},
		{"\u00a0\u3000bob\u2003", "bob", "bob"},
		{"e\u0301lise@example.com", "\u00e9lise@example.com", "\u00e9lise@example.com"},
		{"E\u0301LISE@EXAMPLE.COM", "\u00c9LISE@EXAMPLE.COM", "\u00e9lise@example.com"},
		{"\u00e9lise@example.com", "\u00e9lise@example.com", "\u00e9lise@example.com"},
		{"Ｒｏｏｔ", "Ｒｏｏｔ", "ｒｏｏｔ"}, // NFC keeps fullwidth letters: Skeleton compares them
	} {
		if got := canonical(tc.in); got != tc.identity {
			t.Errorf("canonical(%q) = %q, want %q", tc.in, got, tc.identity)
		}
		if got := CanonicalLogin(tc.in); got != tc.login {
			t.Errorf("CanonicalLogin(%q) = %q, want %q", tc.in, got, tc.login)
		}
	}
}

func TestSkeleton(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b  string
		alike bool
	}{
		{"paypal@example.com", "p\u0430ypal@example.com", true},              // Cyrillic а
		{"paypal@example.com", "PAYPAL@EXAMPLE.COM", true},                   // case
		{"paypal@example.com", "\u0420\u0410YPAL@example.com", true},         // Cyrillic Р and А, upper case
		{"paypal@example.com", "ｐａｙｐａｌ@example.com", true},                   // fullwidth
		{"paypal@example.com", "paypal@ｅｘａｍｐｌｅ.ｃｏｍ", true},                   // fullwidth domain
		{"paypal@example.com", "\U0001d52dayp\U0001d4b6l@example.com", true}, // mathematical letters
		{"paypal@example.com", "paypa1@example.com", true},                   // digit 1 for l
		{"paypal@example.com", "paypa|@example.com", true},                   // | for l
		{"root", "r00t", true},              // digit 0 for o
		{"modern", "rnodern", true},         // rn for m
		{"\u00e9lise", "e\u0301lise", true}, // NFC and NFD
		{"office", "o\ufb03ce", true},       // ligature ﬃ
		{"strasse", "stra\u00dfe", true},    // ß folds to ss
		{"admin", "\u0430dmin", true},
		{"paypal@example.com", "paypal@example.org", false},
		{"alice", "alicia", false},
		{"\u00e9lise", "elise", false}, // an accent is a different letter
		{"ivan", "lvan", false},        // i and l are not confusable
		{"Ivan", "lvan", false},        // nor, once case-folded, I and l
	} {
		if got := Skeleton(tc.a) == Skeleton(tc.b); got != tc.alike {
			t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q: alike %v, want %v", tc.a, Skeleton(tc.a), tc.b, Skeleton(tc.b), got, tc.alike)
		}
	}
}

// TestSkeletonASCII checks the quick path for ASCII text against the full algorithm.
func TestSkeletonASCII(t *testing.T) {
	t.Parallel()
	for c := range 128 {
		for d := range 128 {
			s := string(rune(c)) + string(rune(d))
			if got, want := Skeleton(s), skeleton(s); got != want {
				t.Fatalf("Skeleton(%q) = %q, the full algorithm gives %q", s, got, want)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		b := make([]byte, 1+r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(128))
		}
		if got, want := Skeleton(string(b)), skeleton(string(b)); got != want {
			t.Fatalf("Skeleton(%q) = %q, the full algorithm gives %q", b, got, want)
		}
	}
}

func TestBuiltinRoleNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		builtin bool
	}{
		{"Administrator", true},
		{"ADMINISTRATOR", true},
		{"administrator", true},
		{"\u0410dministrator", true}, // Cyrillic А
		{"Adm\u0456nistrator", true}, // Cyrillic і
		{"Ａｄｍｉｎｉｓｔｒａｔｏｒ", true},
		{"User Manager", true},
		{"user_manager", true},
		{"User-Manager", true},
		{"usermanager", true},
		{"Auditor", true},
		{"VIEWER", true},
		{"vi\u0435wer", true}, // Cyrillic е
		{"Administrators", false},
		{"Admin", false},
		{"Help desk", false},
		{"Viewer of reports", false},
	} {
		err := checkBuiltinName(tc.name)
		if !tc.builtin {
			if err != nil {
				t.Errorf("checkBuiltinName(%q) = %v, want nil", tc.name, err)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Conflict || e.Code != "role.name_builtin" || len(e.Fields) != 1 || e.Fields[0].Field != "name" {
			t.Errorf("checkBuiltinName(%q) = %v, want a role.name_builtin conflict on name", tc.name, err)
		}
	}
}
