package user_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

func TestCreateUserValidation(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		valid := func() user.Profile {
			return user.Profile{Email: ptr("new@example.com"), FirstName: ptr("New"), LastName: ptr("Person")}
		}
		with := func(change func(in *user.CreateInput)) user.CreateInput {
			in := user.CreateInput{Profile: valid()}
			change(&in)
			return in
		}
		for _, tc := range []struct {
			name string
			in   user.CreateInput
			want map[string]string // field → code
		}{
			{"nothing given", user.CreateInput{},
				map[string]string{"email": "email.required", "first_name": "name.required", "last_name": "name.required"}},
			{"email without @", with(func(in *user.CreateInput) { in.Email = ptr("new.example.com") }),
				map[string]string{"email": "email.invalid"}},
			{"email with a space", with(func(in *user.CreateInput) { in.Email = ptr("new @example.com"); in.Username = ptr("new") }),
				map[string]string{"email": "email.whitespace"}},
			{"email domain without a dot", with(func(in *user.CreateInput) { in.Email = ptr("new@example") }),
				map[string]string{"email": "email.domain_invalid"}},
			{"username starting with _", with(func(in *user.CreateInput) { in.Username = ptr("_new") }),
				map[string]string{"username": "username.invalid_start"}},
			{"username defaulted from an email it cannot be", with(func(in *user.CreateInput) { in.Email = ptr("new+tag@example.com") }),
				map[string]string{"username": "username.invalid_chars"}},
			{"first name too long", with(func(in *user.CreateInput) { in.FirstName = ptr(strings.Repeat("f", 51)) }),
				map[string]string{"first_name": "name.too_long"}},
			{"last name empty", with(func(in *user.CreateInput) { in.LastName = ptr("") }),
				map[string]string{"last_name": "name.required"}},
			{"phone with letters", with(func(in *user.CreateInput) { in.Phone = ptr("call me") }),
				map[string]string{"phone": "phone.invalid"}},
			{"password too short", with(func(in *user.CreateInput) { in.Password = ptr("short") }),
				map[string]string{"password": "password.too_short"}},
			{"external id on a local user", with(func(in *user.CreateInput) { in.ExternalID = ptr("cn=new") }),
				map[string]string{"external_id": "user.external_id_local"}},
			{"manager who is no user", with(func(in *user.CreateInput) { in.ManagerID = ptr("01900000-0000-7000-8000-000000000000") }),
				map[string]string{"manager_id": "user.manager_unknown"}},
			{"several problems at once", user.CreateInput{Profile: user.Profile{Email: ptr("x@y"), Username: ptr("-x"), FirstName: ptr(" X"), LastName: ptr("Y")}, Password: ptr("short")},
				map[string]string{"email": "email.domain_invalid", "username": "username.invalid_start", "first_name": "name.whitespace", "password": "password.too_short"}},
			{"unknown role", with(func(in *user.CreateInput) { in.RoleIDs = []string{"no-such-role"} }),
				map[string]string{"roles": "role.unknown"}},
			{"unknown group", with(func(in *user.CreateInput) { in.GroupIDs = []string{"no-such-group"} }),
				map[string]string{"groups": "group.unknown"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.unchanged(t, func() error {
					_, err := f.svc.CreateUser(ctx, f.admin, tc.in)
					return err
				})
				fields := make([]string, 0, len(tc.want))
				for k := range tc.want {
					fields = append(fields, k)
				}
				e := wantErr(t, err, errs.Invalid, "", fields...)
				for field, code := range tc.want {
					if got := fieldCode(err, field); got != code {
						t.Errorf("field %s: code %q, want %q", field, got, code)
					}
				}
				if len(tc.want) > 1 && e.Code != "validation_failed" {
					t.Errorf("code %s, want validation_failed for several fields", e.Code)
				}
			})
		}
	})
}

func TestCreateUserConflicts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.create(t, f.admin, "taken@example.com")
		if _, err := f.svc.CreateUser(ctx, f.admin, user.CreateInput{Profile: user.Profile{Email: ptr("alias-owner@example.com"),
			Username: ptr("Alias@Example.com"), FirstName: ptr("A"), LastName: ptr("O")}}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name        string
			email       string
			username    *string
			field, code string
		}{
			{"same email", "taken@example.com", ptr("other1"), "email", "user.email_taken"},
			{"email in other case", "TAKEN@Example.COM", ptr("other2"), "email", "user.email_taken"},
			{"email in other case, username defaulted", "Taken@EXAMPLE.com", nil, "email", "user.email_taken"},
			{"username in other case", "fresh@example.com", ptr("ROOT"), "username", "user.username_taken"},
			{"email that is another user's username, username defaulted", "alias@example.com", nil, "email", "user.email_taken"},
			{"email that is another user's username, username given", "alias@example.com", ptr("alias"), "email", "user.email_taken"},
			{"username that is another user's email", "fresh@example.com", ptr("Taken@example.com"), "username", "user.username_taken"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := user.CreateInput{Profile: user.Profile{Email: ptr(tc.email), Username: tc.username, FirstName: ptr("A"), LastName: ptr("B")}}
				if tc.code == "" {
					if _, err := f.svc.CreateUser(ctx, f.admin, in); err != nil {
						t.Fatalf("CreateUser = %v, want success", err)
					}
					return
				}
				err := f.unchanged(t, func() error {
					_, err := f.svc.CreateUser(ctx, f.admin, in)
					return err
				})
				wantErr(t, err, errs.Conflict, tc.code, tc.field)
			})
		}
	})
}

func TestCreateUserDefaults(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, tc := range []struct {
			name     string
			in       user.CreateInput
			username string
			roles    []string
			withHash bool
		}{
			{"username defaults to the email, role to Viewer",
				user.CreateInput{Profile: user.Profile{Email: ptr("Dana.Smith@Example.com"), FirstName: ptr("Dana"), LastName: ptr("Smith")}},
				"Dana.Smith@Example.com", []string{user.ViewerRole}, false},
			{"empty username defaults too",
				user.CreateInput{Profile: user.Profile{Email: ptr("eve@example.com"), Username: ptr(""), FirstName: ptr("Eve"), LastName: ptr("E")}},
				"eve@example.com", []string{user.ViewerRole}, false},
			{"an empty role list gives no role",
				user.CreateInput{Profile: user.Profile{Email: ptr("fay@example.com"), Username: ptr("fay"), FirstName: ptr("Fay"), LastName: ptr("F")}, RoleIDs: []string{}},
				"fay", nil, false},
			{"roles as given, with a password",
				user.CreateInput{Profile: user.Profile{Email: ptr("gus@example.com"), FirstName: ptr("Gus"), LastName: ptr("G")},
					RoleIDs: []string{user.AuditorRole, user.ViewerRole}, Password: ptr(password)},
				"gus@example.com", []string{user.AuditorRole, user.ViewerRole}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var d *user.Detail
				f.audited(t, f.admin, "user.create", func() (string, error) {
					var err error
					d, err = f.svc.CreateUser(ctx, f.admin, tc.in)
					if err != nil {
						return "", err
					}
					return d.ID, nil
				})
				if d.Username != tc.username || d.Status != user.Active || d.Source != user.Local || d.Version != 1 || !d.Accepted() {
					t.Errorf("created %+v, want username %q, active, local, version 1, accepted", d.User, tc.username)
				}
				if got := roleIDs(d, true); !slices.Equal(got, tc.roles) {
					t.Errorf("direct roles %v, want %v", got, tc.roles)
				}
				stored := f.user(t, d.ID)
				if got := strings.HasPrefix(stored.PasswordHash, "$argon2id$"); got != tc.withHash {
					t.Errorf("stored hash %q, want one: %v", stored.PasswordHash, tc.withHash)
				}
				ev := f.audit(t, audit.Filter{TargetID: d.ID})[0]
				b, _ := json.Marshal(ev.Details)
				if strings.Contains(string(b), password) || strings.Contains(string(b), "argon2") {
					t.Errorf("the audit event holds a secret: %s", b)
				}
			})
		}
	})
}

func TestCreateDefaultAdminOnce(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		ok, err := f.svc.HasDefaultAdmin(ctx)
		if err != nil || !ok {
			t.Fatalf("HasDefaultAdmin = %v, %v; want true", ok, err)
		}
		da := f.user(t, f.admin.ID)
		if !da.DefaultAdmin || !f.admin.Permissions.Covers(user.AllPermissions()) {
			t.Fatalf("the Default Administrator is %+v with %v", da, f.admin.Permissions)
		}
		err = f.unchanged(t, func() error {
			_, err := f.svc.CreateDefaultAdmin(ctx, user.System("setup"), user.CreateInput{
				Profile:  user.Profile{Email: ptr("second@example.com"), FirstName: ptr("S"), LastName: ptr("A")},
				Password: ptr(password),
			})
			return err
		})
		wantErr(t, err, errs.Conflict, "user.default_admin_exists")
	})
}
