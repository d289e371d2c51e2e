package user_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// TestIdentitiesNormalised checks that identities are stored trimmed and in NFC on every
// create and update, so that é typed as e + ´ and as é is one account, found by either form.
func TestIdentitiesNormalised(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		nfd, nfc := "E\u0301lodie@Example.org", "\u00c9lodie@Example.org"

		d, err := f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{
			Email: ptr(" \u00a0" + nfd + "\t"), Username: ptr("  elodie "), FirstName: ptr("E"), LastName: ptr("B")}})
		if err != nil {
			t.Fatal(err)
		}
		if d.Email != nfc || d.Username != "elodie" {
			t.Fatalf("stored email %q and username %q, want %q and elodie", d.Email, d.Username, nfc)
		}
		for _, again := range []string{nfc, nfd, strings.ToLower(nfd), " " + strings.ToUpper(nfc)} {
			err := f.unchanged(t, func() error {
				_, err := f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{
					Email: ptr(again), Username: ptr("elodie2"), FirstName: ptr("E"), LastName: ptr("B")}})
				return err
			})
			wantErr(t, err, errs.Conflict, "user.email_taken", "email")
		}
		for _, login := range []string{nfc, nfd, "  " + strings.ToLower(nfd) + " ", "ELODIE"} {
			u, err := f.st.UserByLogin(ctx, user.CanonicalLogin(login))
			if err != nil || u.ID != d.ID {
				t.Errorf("UserByLogin(CanonicalLogin(%q)) = %v, %v; want %s", login, u, err, d.Username)
			}
		}
		// Updates store the canonical form too.
		d, err = f.svc.UpdateUser(ctx, f.admin, d.ID, d.Version, user.Patch{Profile: user.Profile{Username: ptr(" elodie.b\t")}})
		if err != nil || d.Username != "elodie.b" {
			t.Fatalf("UpdateUser = %v, %v; want username elodie.b", d, err)
		}

		// Role, group and custom field names and labels.
		r, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr(" Caf\u0065\u0301 staff ")})
		if err != nil || r.Name != "Caf\u00e9 staff" {
			t.Fatalf("CreateRole = %+v, %v; want the name Café staff in NFC", r, err)
		}
		_, err = f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("caf\u00e9 STAFF")})
		wantErr(t, err, errs.Conflict, "role.name_taken", "name")
		r, err = f.svc.UpdateRole(ctx, f.admin, r.ID, r.Version, user.RoleInput{Name: ptr("Caf\u0065\u0301 crew\u3000")})
		if err != nil || r.Name != "Caf\u00e9 crew" {
			t.Fatalf("UpdateRole = %+v, %v; want the name Café crew in NFC", r, err)
		}
		g, err := f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("Re\u0301ception ")})
		if err != nil || g.Name != "R\u00e9ception" {
			t.Fatalf("CreateGroup = %+v, %v; want the name Réception in NFC", g, err)
		}
		_, err = f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("r\u00e9ception")})
		wantErr(t, err, errs.Conflict, "group.name_taken", "name")
		g, err = f.svc.UpdateGroup(ctx, f.admin, g.ID, g.Version, user.GroupInput{Name: ptr(" Re\u0301ception desk")})
		if err != nil || g.Name != "R\u00e9ception desk" {
			t.Fatalf("UpdateGroup = %+v, %v; want the name Réception desk in NFC", g, err)
		}
		fd, err := f.svc.CreateField(ctx, f.admin, user.FieldInput{Name: " site ", Label: ptr(" Ba\u0302timent "), Type: user.TextField})
		if err != nil || fd.Name != "site" || fd.Label != "B\u00e2timent" {
			t.Fatalf("CreateField = %+v, %v; want the name site and the label Bâtiment in NFC", fd, err)
		}
		fd, err = f.svc.UpdateField(ctx, f.admin, "site", fd.Version, user.FieldInput{Label: ptr("Ba\u0302timent principal ")})
		if err != nil || fd.Label != "B\u00e2timent principal" {
			t.Fatalf("UpdateField = %+v, %v; want the label Bâtiment principal in NFC", fd, err)
		}
	})
}

// TestHostileIdentities checks that every create and update path refuses control, bidi and
// invisible characters in identities, with the character's code on the field, changing nothing.
func TestHostileIdentities(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		d := f.create(t, f.admin, "plain@example.com")
		r, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Helpdesk")})
		if err != nil {
			t.Fatal(err)
		}
		g, err := f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("Sales")})
		if err != nil {
			t.Fatal(err)
		}
		fd, err := f.svc.CreateField(ctx, f.admin, user.FieldInput{Name: "site", Label: ptr("Site"), Type: user.TextField})
		if err != nil {
			t.Fatal(err)
		}
		createUser := func(email, username string) func() error {
			return func() error {
				in := user.CreateInput{Profile: user.Profile{Email: ptr(email), FirstName: ptr("A"), LastName: ptr("B")}}
				if username != "" {
					in.Username = ptr(username)
				}
				_, err := f.svc.CreateUser(ctx, f.admin, in)
				return err
			}
		}
		for _, tc := range []struct {
			name        string
			change      func() error
			field, code string
		}{
			{"email with a right-to-left override", createUser("ad\u202emin@example.com", ""), "email", "identity.bidi_char"},
			{"email with a zero-width space", createUser("zw\u200b@example.com", ""), "email", "identity.invisible_char"},
			{"email with a NUL", createUser("nul\x00@example.com", "nul"), "email", "identity.control_char"},
			{"email with a newline inside", createUser("new\nline@example.com", "newline"), "email", "identity.control_char"},
			{"username with a left-to-right isolate", createUser("iso@example.com", "ad\u2066min"), "username", "identity.bidi_char"},
			{"username with a byte order mark", createUser("bom@example.com", "\ufeffbom"), "username", "identity.invisible_char"},
			{"username changed to one with a right-to-left mark", func() error {
				_, err := f.svc.UpdateUser(ctx, f.admin, d.ID, d.Version, user.Patch{Profile: user.Profile{Username: ptr("pl\u200fain")}})
				return err
			}, "username", "identity.bidi_char"},
			{"role name with a newline", func() error {
				_, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Ops\nlead")})
				return err
			}, "name", "identity.control_char"},
			{"role renamed with a zero-width joiner", func() error {
				_, err := f.svc.UpdateRole(ctx, f.admin, r.ID, r.Version, user.RoleInput{Name: ptr("Help\u200ddesk")})
				return err
			}, "name", "identity.invisible_char"},
			{"group name with a NUL", func() error {
				_, err := f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("Sales\x00EMEA")})
				return err
			}, "name", "identity.control_char"},
			{"group renamed with a right-to-left override", func() error {
				_, err := f.svc.UpdateGroup(ctx, f.admin, g.ID, g.Version, user.GroupInput{Name: ptr("Sa\u202eles")})
				return err
			}, "name", "identity.bidi_char"},
			{"custom field name with a zero-width space", func() error {
				_, err := f.svc.CreateField(ctx, f.admin, user.FieldInput{Name: "cost\u200bcentre", Label: ptr("Cost centre"), Type: user.TextField})
				return err
			}, "name", "identity.invisible_char"},
			{"custom field label with a line separator", func() error {
				_, err := f.svc.UpdateField(ctx, f.admin, "site", fd.Version, user.FieldInput{Label: ptr("Site\u2028name")})
				return err
			}, "label", "identity.control_char"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.unchanged(t, tc.change)
				e := wantErr(t, err, errs.Invalid, tc.code, tc.field)
				if !strings.Contains(e.Fields[0].Message, "U+") {
					t.Errorf("message %q does not name the character", e.Fields[0].Message)
				}
			})
		}
	})
}

// TestLookalikeIdentities checks that an email or username that looks like another user's
// (UTS #39 skeleton, case-insensitively) is refused with user.lookalike on create and update,
// while the same name is still "taken" and a user may restyle their own.
func TestLookalikeIdentities(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		// The fixture has root (root@example.com), manager@example.com and viewer@example.com.
		paypal, err := f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{
			Email: ptr("paypal@example.com"), Username: ptr("paypal"), FirstName: ptr("P"), LastName: ptr("P")}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, email, username string // username "": defaulted to the email
			want                  map[string]string
		}{
			{"email with a Cyrillic а", "p\u0430ypal@example.com", "p1", map[string]string{"email": "user.lookalike"}},
			{"email in Cyrillic capitals", "\u0420\u0410YPAL@example.com", "p2", map[string]string{"email": "user.lookalike"}},
			{"email in fullwidth letters", "ｐａｙｐａｌ@example.com", "p3", map[string]string{"email": "user.lookalike"}},
			{"email with a fullwidth domain", "paypal@ｅｘａｍｐｌｅ.com", "p4", map[string]string{"email": "user.lookalike"}},
			{"email with the digit 1 for l", "paypa1@example.com", "p5", map[string]string{"email": "user.lookalike"}},
			{"email like another's email and username, username defaulted", "rnanager@example.com", "", map[string]string{"email": "user.lookalike"}},
			{"email alike in its local part only", "pаypal@other.example", "p6", map[string]string{}},
			{"username with zeros for o", "r00t.user@example.com", "r00t", map[string]string{"username": "user.lookalike"}},
			{"username like another's email", "p7@example.com", "paypa1@example.com", map[string]string{"username": "user.lookalike"}},
			{"username that is another's email", "p8@example.com", "PAYPAL@example.com", map[string]string{"username": "user.username_taken"}},
			{"username in other case", "p9@example.com", "ROOT", map[string]string{"username": "user.username_taken"}},
			{"both alike", "vi\u0435wer@example.com", "rooT", map[string]string{"email": "user.lookalike", "username": "user.username_taken"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := user.CreateInput{Profile: user.Profile{Email: ptr(tc.email), FirstName: ptr("A"), LastName: ptr("B")}}
				if tc.username != "" {
					in.Username = ptr(tc.username)
				}
				if len(tc.want) == 0 {
					if _, err := f.svc.CreateUser(ctx, f.admin, in); err != nil {
						t.Fatalf("CreateUser = %v, want success", err)
					}
					return
				}
				err := f.unchanged(t, func() error {
					_, err := f.svc.CreateUser(ctx, f.admin, in)
					return err
				})
				var fields []string
				for field, code := range tc.want {
					fields = append(fields, field)
					if got := fieldCode(err, field); got != code {
						t.Errorf("field %s: code %q, want %q", field, got, code)
					}
				}
				e := wantErr(t, err, errs.Conflict, "", fields...)
				if e.Fields[0].Code == "user.lookalike" && !strings.Contains(e.Fields[0].Message, "looks like") {
					t.Errorf("message %q does not say what is wrong", e.Fields[0].Message)
				}
			})
		}

		// Changing a username to a look-alike of someone else's is refused; restyling one's own is not.
		other := f.create(t, f.admin, "other@example.com")
		for _, tc := range []struct{ username, code string }{
			{"paypa1", "user.lookalike"},
			{"PayPal", "user.username_taken"},
			{"viewer@examp1e.com", "user.lookalike"},
		} {
			err := f.unchanged(t, func() error {
				_, err := f.svc.UpdateUser(ctx, f.admin, other.ID, other.Version, user.Patch{Profile: user.Profile{Username: ptr(tc.username)}})
				return err
			})
			wantErr(t, err, errs.Conflict, tc.code, "username")
		}
		for _, username := range []string{"PayPal", "paypa1"} {
			d, err := f.svc.UpdateUser(ctx, f.admin, paypal.ID, user.AnyVersion, user.Patch{Profile: user.Profile{Username: ptr(username)}})
			if err != nil || d.Username != username {
				t.Fatalf("restyling one's own username to %s: %v, %v", username, d, err)
			}
		}
	})
}

// TestLookalikeCreatesRace creates sixteen look-alikes of one address at once, as emails and,
// in the second round, half as emails and half as other users' usernames: each time exactly
// one is created, the others are refused as look-alikes or as taken.
func TestLookalikeCreatesRace(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		type attempt struct{ email, username string }
		var emails, mixed []attempt
		for i, v := range lookalikes("fred", 16) {
			emails = append(emails, attempt{v + "@example.com", fmt.Sprintf("racer-%c", 'a'+i)})
		}
		for i, v := range lookalikes("wilma", 8) {
			mixed = append(mixed, attempt{v + "@example.com", fmt.Sprintf("runner-%c", 'a'+i)})
		}
		for i, v := range []string{"wilma@example.com", "WILMA@example.com", "Wilma@Example.com", "wilma@examp1e.com",
			"wi1ma@example.com", "wilrna@example.com", "wilma@exarnple.corn", "WILMA@EXAMPLE.C0M"} {
			mixed = append(mixed, attempt{fmt.Sprintf("walker-%c@example.com", 'a'+i), v})
		}
		for round, attempts := range [][]attempt{emails, mixed} {
			var wg sync.WaitGroup
			errors := make([]error, len(attempts))
			for i, a := range attempts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errors[i] = f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{
						Email: ptr(a.email), Username: ptr(a.username), FirstName: ptr("F"), LastName: ptr("R")}})
				}()
			}
			wg.Wait()
			created := 0
			for i, err := range errors {
				switch e, _ := errs.As(err); {
				case err == nil:
					created++
				case e == nil || e.Kind != errs.Conflict || !strings.HasPrefix(e.Code, "user.") ||
					e.Code != "user.lookalike" && !strings.HasSuffix(e.Code, "_taken"):
					t.Errorf("round %d: create %+v: %v, want success, a look-alike or a taken name", round+1, attempts[i], err)
				}
			}
			if created != 1 {
				t.Errorf("round %d: %d of %d look-alikes created, want exactly 1", round+1, created, len(attempts))
			}
		}
	})
}

// lookalikes returns n different spellings of the ASCII word s that all look like it: each
// letter as it is, in capitals, fullwidth or (for some) Cyrillic.
func lookalikes(s string, n int) []string {
	cyrillic := map[rune]rune{'a': 'а', 'c': 'с', 'e': 'е', 'o': 'о', 'p': 'р', 'x': 'х', 'y': 'у', 'd': 'ԁ'}
	forms := func(r rune) []string {
		out := []string{string(r), strings.ToUpper(string(r)), string(r - 'a' + 'ａ')}
		if c, ok := cyrillic[r]; ok {
			out = append(out, string(c))
		}
		return out
	}
	words := []string{""}
	for _, r := range s {
		var next []string
		for _, w := range words {
			for _, f := range forms(r) {
				next = append(next, w+f)
			}
		}
		words = next
	}
	return words[:min(n, len(words))]
}

// TestRoleNamedLikeBuiltin checks that a custom role cannot take or rename to a name that passes
// for a built-in role's.
func TestRoleNamedLikeBuiltin(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, name := range []string{"Administrator", "ADMINISTRATOR", "\u0410dministrator", " user_manager ", "Ｖｉｅｗｅｒ", "Aud\u0456tor"} {
			err := f.unchanged(t, func() error {
				_, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr(name)})
				return err
			})
			wantErr(t, err, errs.Conflict, "role.name_builtin", "name")
		}
		r, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Administrators of the wiki")})
		if err != nil {
			t.Fatal(err)
		}
		err = f.unchanged(t, func() error {
			_, err := f.svc.UpdateRole(ctx, f.admin, r.ID, r.Version, user.RoleInput{Name: ptr("User Manager")})
			return err
		})
		wantErr(t, err, errs.Conflict, "role.name_builtin", "name")
	})
}

// TestSearchIgnoresUnicodeForm: names are stored in NFC and a search is read in NFC, so "Amé"
// finds Amélie whichever way her name and the search were typed.
func TestSearchIgnoresUnicodeForm(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		d, err := f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{
			Email: ptr("amelie@example.org"), FirstName: ptr("Ame\u0301lie"), LastName: ptr("Zo\u0308ller")}})
		if err != nil {
			t.Fatal(err)
		}
		if d.FirstName != "Am\u00e9lie" || d.LastName != "Z\u00f6ller" {
			t.Fatalf("stored names %q %q, want them in NFC", d.FirstName, d.LastName)
		}
		for _, q := range []string{"Am\u00e9", "Ame\u0301", " ame\u0301l ", "Zo\u0308l"} {
			page, err := f.svc.ListUsers(ctx, f.admin, user.Filter{Q: q})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Users) != 1 || page.Users[0].ID != d.ID {
				t.Errorf("search %q found %d users, want Amélie", q, len(page.Users))
			}
		}
	})
}
