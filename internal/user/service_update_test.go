package user_test

import (
	"context"
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

func TestUpdateUserVersion(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id := f.create(t, f.admin, "versioned@example.com").ID
		f.audited(t, f.admin, "user.update", func() (string, error) {
			d, err := f.svc.UpdateUser(ctx, f.admin, id, 1, user.Patch{Profile: user.Profile{Department: ptr("Sales")}})
			if err == nil && (d.Version != 2 || d.Department != "Sales") {
				t.Errorf("after the update: version %d, department %q", d.Version, d.Department)
			}
			return id, err
		})
		for _, tc := range []struct {
			name    string
			version int64
		}{
			{"the version read before the last change", 1},
			{"a version from the future", 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := f.unchanged(t, func() error {
					_, err := f.svc.UpdateUser(ctx, f.admin, id, tc.version, user.Patch{Profile: user.Profile{Department: ptr("Support")}})
					return err
				})
				wantErr(t, err, errs.PreconditionFailed, "version.stale")
				if err := f.svc.DeleteUser(ctx, f.admin, id, tc.version); !errs.Is(errs.PreconditionFailed, err) {
					t.Errorf("DeleteUser with version %d = %v, want version.stale", tc.version, err)
				}
				if u := f.user(t, id); u.Department != "Sales" || u.Version != 2 {
					t.Errorf("the user changed: department %q, version %d", u.Department, u.Version)
				}
			})
		}
		t.Run("any version", func(t *testing.T) {
			d, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{Profile: user.Profile{Department: ptr("Support")}})
			if err != nil || d.Version != 3 {
				t.Fatalf("UpdateUser with AnyVersion = %+v, %v", d, err)
			}
		})
	})
}

// A change that names no version is refused, on every kind of thing that has one: a form or an
// importer that forgot it must not skip the check in silence.
func TestVersionRequired(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		id := f.create(t, f.admin, "unversioned@example.com").ID
		r, err := f.svc.CreateRole(ctx, f.admin, user.RoleInput{Name: ptr("Unversioned"), Permissions: &[]user.Permission{user.UsersRead}})
		if err != nil {
			t.Fatal(err)
		}
		g, err := f.svc.CreateGroup(ctx, f.admin, user.GroupInput{Name: ptr("Unversioned")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateField(ctx, f.admin, user.FieldInput{Name: "unversioned", Label: ptr("Unversioned"), Type: user.TextField}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			change func() error
		}{
			{"update a user", func() error {
				_, err := f.svc.UpdateUser(ctx, f.admin, id, 0, user.Patch{Profile: user.Profile{Department: ptr("Support")}})
				return err
			}},
			{"delete a user", func() error { return f.svc.DeleteUser(ctx, f.admin, id, 0) }},
			{"update a role", func() error {
				_, err := f.svc.UpdateRole(ctx, f.admin, r.ID, 0, user.RoleInput{Name: ptr("Renamed")})
				return err
			}},
			{"delete a role", func() error { return f.svc.DeleteRole(ctx, f.admin, r.ID, 0) }},
			{"update a group", func() error {
				_, err := f.svc.UpdateGroup(ctx, f.admin, g.ID, 0, user.GroupInput{Name: ptr("Renamed")})
				return err
			}},
			{"delete a group", func() error { return f.svc.DeleteGroup(ctx, f.admin, g.ID, 0) }},
			{"update a field", func() error {
				_, err := f.svc.UpdateField(ctx, f.admin, "unversioned", 0, user.FieldInput{Label: ptr("Renamed")})
				return err
			}},
			{"delete a field", func() error { return f.svc.DeleteField(ctx, f.admin, "unversioned", 0) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantErr(t, f.unchanged(t, tc.change), errs.PreconditionRequired, "version.required")
			})
		}
	})
}

func TestUpdateLocalUser(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		d := f.create(t, f.admin, "local@example.com")
		for _, tc := range []struct {
			name  string
			patch user.Profile
			field string // "" when the patch is allowed
			code  string
		}{
			{"email", user.Profile{Email: ptr("changed@example.com")}, "email", "user.email_immutable"},
			{"email in other case", user.Profile{Email: ptr("LOCAL@example.com"), Phone: ptr("+1 555 0101")}, "", ""},
			{"invalid new email", user.Profile{Email: ptr("not an email")}, "email", ""},
			{"own manager", user.Profile{ManagerID: ptr(d.ID)}, "manager_id", "user.manager_self"},
			{"bad username", user.Profile{Username: ptr("no spaces")}, "username", "username.invalid_chars"},
			{"username taken", user.Profile{Username: ptr("Root")}, "username", "user.username_taken"},
			{"same email", user.Profile{Email: ptr("local@example.com"), Phone: ptr("+1 555 0100")}, "", ""},
			{"profile", user.Profile{Username: ptr("local"), FirstName: ptr("Lo"), LastName: ptr("Cal"),
				Department: ptr("IT"), ManagerID: ptr(f.manager.ID)}, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				patch := user.Patch{Profile: tc.patch}
				if tc.field == "" {
					f.audited(t, f.admin, "user.update", func() (string, error) {
						_, err := f.svc.UpdateUser(ctx, f.admin, d.ID, user.AnyVersion, patch)
						return d.ID, err
					})
					return
				}
				err := f.unchanged(t, func() error {
					_, err := f.svc.UpdateUser(ctx, f.admin, d.ID, user.AnyVersion, patch)
					return err
				})
				if tc.code != "" && fieldCode(err, tc.field) != tc.code {
					t.Fatalf("UpdateUser = %v, want %s on %s", err, tc.code, tc.field)
				}
				if fieldCode(err, tc.field) == "" {
					t.Fatalf("UpdateUser = %v, want an error on %s", err, tc.field)
				}
			})
		}
		u := f.user(t, d.ID)
		if u.Email != "local@example.com" || u.Username != "local" || u.Phone != "+1 555 0100" || u.ManagerID != f.manager.ID || u.Department != "IT" {
			t.Errorf("after the updates: %+v", u)
		}
		ev := f.audit(t, audit.Filter{TargetID: d.ID, Action: "user.update"})[0]
		changed, _ := ev.Details["changed"].([]any)
		want := []any{"username", "first_name", "last_name", "department", "manager_id"}
		if !slices.Equal(changed, want) {
			t.Errorf("the last update event says changed %v, want %v", ev.Details["changed"], want)
		}
	})
}

func TestUpdateDirectoryUser(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		dir := f.insert(t, user.User{Username: "dana", Email: "dana@corp.example", FirstName: "Dana", LastName: "Dir",
			Phone: "100", Department: "Ops", ManagerName: "Boss", Source: user.Directory, ExternalID: "uid=dana,ou=people"})
		for _, tc := range []struct {
			name  string
			patch user.Patch
			field string // "" when the patch is allowed
		}{
			{"username", user.Patch{Profile: user.Profile{Username: ptr("dana2")}}, "username"},
			{"email", user.Patch{Profile: user.Profile{Email: ptr("dana@elsewhere.example")}}, "email"},
			{"first name", user.Patch{Profile: user.Profile{FirstName: ptr("Diana")}}, "first_name"},
			{"last name", user.Patch{Profile: user.Profile{LastName: ptr("D")}}, "last_name"},
			{"phone", user.Patch{Profile: user.Profile{Phone: ptr("200")}}, "phone"},
			{"department", user.Patch{Profile: user.Profile{Department: ptr("Dev")}}, "department"},
			{"manager name", user.Patch{Profile: user.Profile{ManagerName: ptr("Other Boss")}}, "manager_name"},
			{"external id", user.Patch{Profile: user.Profile{ExternalID: ptr("uid=other")}}, "external_id"},
			{"the same values", user.Patch{Profile: user.Profile{FirstName: ptr("Dana"), Email: ptr("dana@corp.example")}}, ""},
			{"roles are usher's", user.Patch{RoleIDs: &[]string{user.AuditorRole}}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.name == "the same values" {
					// allowed, and a change of nothing writes nothing: no version, no event
					_, before := f.counts(t)
					d, err := f.svc.UpdateUser(ctx, f.admin, dir.ID, user.AnyVersion, tc.patch)
					if _, after := f.counts(t); err != nil || after != before || d.Version != dir.Version {
						t.Fatalf("UpdateUser = %v; audit events %d → %d; version %d → %d", err, before, after, dir.Version, d.Version)
					}
					return
				}
				if tc.field == "" {
					f.audited(t, f.admin, "user.update", func() (string, error) {
						_, err := f.svc.UpdateUser(ctx, f.admin, dir.ID, user.AnyVersion, tc.patch)
						return dir.ID, err
					})
					return
				}
				err := f.unchanged(t, func() error {
					_, err := f.svc.UpdateUser(ctx, f.admin, dir.ID, user.AnyVersion, tc.patch)
					return err
				})
				wantErr(t, err, errs.Invalid, "user.read_only", tc.field)
			})
		}
		u := f.user(t, dir.ID)
		if u.FirstName != "Dana" || u.Email != "dana@corp.example" || u.ExternalID != "uid=dana,ou=people" {
			t.Errorf("directory attributes changed: %+v", u)
		}
	})
}

// TestUpdateUserIsOneTransaction: a patch that fails half-way changes nothing.
func TestUpdateUserIsOneTransaction(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		d := f.create(t, f.admin, "atomic@example.com", user.ViewerRole)
		err := f.unchanged(t, func() error {
			_, err := f.svc.UpdateUser(ctx, f.admin, d.ID, user.AnyVersion, user.Patch{
				Profile:  user.Profile{Department: ptr("Finance")},
				RoleIDs:  &[]string{user.AuditorRole},
				GroupIDs: &[]string{"no-such-group"},
			})
			return err
		})
		wantErr(t, err, errs.Invalid, "group.unknown")
		after, err := f.svc.GetUser(ctx, f.admin, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := roleIDs(after, true); !slices.Equal(got, []string{user.ViewerRole}) || after.Department != "" || after.Version != 1 {
			t.Fatalf("after a failed update: roles %v, department %q, version %d", got, after.Department, after.Version)
		}
	})
}

// A form or a file names the manager by email or username; the service finds the user, and
// says in words when there is none or it is the user themselves. Empty clears the manager.
func TestManagerByLogin(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		boss := f.create(t, f.admin, "boss@example.com")
		id := f.create(t, f.admin, "report@example.com").ID
		for _, tc := range []struct {
			name, manager, want, code string
		}{
			{"by email, in other letter case", " Boss@Example.com ", boss.ID, ""},
			{"cleared", "", "", ""},
			{"by username", boss.Username, boss.ID, ""},
			{"nobody", "nobody@example.com", boss.ID, "user.manager_unknown"},
			{"themselves", "report@example.com", boss.ID, "user.manager_self"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{Profile: user.Profile{Manager: ptr(tc.manager)}})
				if tc.code != "" {
					wantErr(t, err, errs.Invalid, "")
					if got := fieldCode(err, "manager"); got != tc.code {
						t.Errorf("manager error %q, want %s", got, tc.code)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if got := f.user(t, id).ManagerID; got != tc.want {
					t.Errorf("manager id %q, want %q", got, tc.want)
				}
			})
		}
		_, err := f.svc.UpdateUser(ctx, f.admin, id, user.AnyVersion, user.Patch{Profile: user.Profile{Manager: ptr("boss@example.com"), ManagerID: ptr("")}})
		wantErr(t, err, errs.Invalid, "")
		if got := fieldCode(err, "manager"); got != "user.manager_twice" {
			t.Errorf("a manager named twice: %q", got)
		}
		in := user.CreateInput{Profile: user.Profile{Email: ptr("new@example.com"), FirstName: ptr("N"), LastName: ptr("E"), Manager: ptr("boss@example.com")}}
		d, err := f.svc.CreateUser(ctx, f.admin, in)
		if err != nil || d.ManagerID != boss.ID {
			t.Fatalf("CreateUser with a manager by email = %+v, %v", d, err)
		}
	})
}
