package user

import (
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/errs"
)

func TestNewPermissionsSortsAndDedupes(t *testing.T) {
	t.Parallel()
	got := NewPermissions(UsersWrite, AuditRead, UsersWrite, UsersRead, AuditRead)
	want := Permissions{AuditRead, UsersRead, UsersWrite}
	if !slices.Equal(got, want) {
		t.Fatalf("NewPermissions = %v, want %v", got, want)
	}
}

func TestPermissionsHas(t *testing.T) {
	t.Parallel()
	set := NewPermissions(UsersRead, UsersWrite, AuditRead)
	for _, tc := range []struct {
		name string
		s    Permissions
		p    Permission
		want bool
	}{
		{"first", set, AuditRead, true},
		{"middle", set, UsersRead, true},
		{"last", set, UsersWrite, true},
		{"absent", set, UsersDelete, false},
		{"absent, sorts before all", set, Permission("a"), false},
		{"absent, sorts after all", set, Permission("zzz"), false},
		{"nil set", nil, UsersRead, false},
		{"whole catalogue", AllPermissions(), SettingsManage, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.s.Has(tc.p); got != tc.want {
				t.Fatalf("%v.Has(%s) = %v, want %v", tc.s, tc.p, got, tc.want)
			}
		})
	}
}

func TestPermissionsCoversAndMissing(t *testing.T) {
	t.Parallel()
	manager := BuiltinRoles()[1].Permissions
	for _, tc := range []struct {
		name     string
		s, other Permissions
		missing  Permissions
	}{
		{"equal sets", NewPermissions(UsersRead, UsersWrite), NewPermissions(UsersWrite, UsersRead), nil},
		{"subset", NewPermissions(UsersRead, UsersWrite, AuditRead), NewPermissions(UsersRead), nil},
		{"nothing asked", NewPermissions(UsersRead), nil, nil},
		{"nothing held, nothing asked", nil, nil, nil},
		{"nothing held", nil, NewPermissions(UsersRead, AuditRead), NewPermissions(AuditRead, UsersRead)},
		{"one missing", NewPermissions(UsersRead), NewPermissions(UsersRead, UsersWrite), NewPermissions(UsersWrite)},
		{"only the first missing", NewPermissions(UsersRead), NewPermissions(AuditRead, UsersRead), NewPermissions(AuditRead)},
		{"only the middle missing", NewPermissions(AuditRead, UsersRead), NewPermissions(AuditRead, SettingsManage, UsersRead), NewPermissions(SettingsManage)},
		{"manager against the administrator", manager, AllPermissions(),
			NewPermissions(FieldsManage, RolesManage, DirectoryManage, AuditRead, SettingsManage)},
		{"administrator against the manager", AllPermissions(), manager, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.s.Covers(tc.other); got != (len(tc.missing) == 0) {
				t.Errorf("%v.Covers(%v) = %v, want %v", tc.s, tc.other, got, len(tc.missing) == 0)
			}
			got := tc.s.Missing(tc.other)
			if !slices.Equal(NewPermissions(got...), tc.missing) || len(got) != len(tc.missing) {
				t.Errorf("%v.Missing(%v) = %v, want %v", tc.s, tc.other, got, tc.missing)
			}
		})
	}
}

func TestPermissionsUnion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		a, b    Permissions
		want    Permissions
		wantLen int
	}{
		{"disjoint", NewPermissions(UsersRead), NewPermissions(AuditRead), Permissions{AuditRead, UsersRead}, 2},
		{"overlapping", NewPermissions(UsersRead, UsersWrite), NewPermissions(UsersWrite, UsersLock), Permissions{UsersLock, UsersRead, UsersWrite}, 3},
		{"with nil", nil, NewPermissions(UsersRead), Permissions{UsersRead}, 1},
		{"both nil", nil, nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ab, ba := tc.a.Union(tc.b), tc.b.Union(tc.a)
			if !slices.Equal(ab, tc.want) || !slices.Equal(ba, tc.want) || len(ab) != tc.wantLen {
				t.Fatalf("Union = %v and %v, want %v", ab, ba, tc.want)
			}
		})
	}
	t.Run("does not change its operands", func(t *testing.T) {
		t.Parallel()
		a := make(Permissions, 1, 8)
		a[0] = UsersWrite
		_ = a.Union(NewPermissions(AuditRead))
		if !slices.Equal(a, Permissions{UsersWrite}) || a[:2][1] != "" {
			t.Fatalf("Union wrote into its receiver: %v", a[:2])
		}
	})
}

func TestParsePermissionsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    Permissions
	}{
		{"whole catalogue", AllPermissions()},
		{"one", NewPermissions(UsersRead)},
		{"some", NewPermissions(UsersRead, AuditRead, ImportRun)},
		{"none", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ParsePermissions(tc.s.String()); !slices.Equal(got, tc.s) {
				t.Fatalf("ParsePermissions(%q) = %v, want %v", tc.s.String(), got, tc.s)
			}
		})
	}
	t.Run("untidy stored form", func(t *testing.T) {
		t.Parallel()
		got := ParsePermissions("  users.write\tusers.read  users.read\naudit.read ")
		if want := (Permissions{AuditRead, UsersRead, UsersWrite}); !slices.Equal(got, want) {
			t.Fatalf("ParsePermissions = %v, want %v", got, want)
		}
	})
	t.Run("String is space separated and sorted", func(t *testing.T) {
		t.Parallel()
		if got := NewPermissions(UsersWrite, AuditRead).String(); got != "audit.read users.write" {
			t.Fatalf("String = %q", got)
		}
	})
}

func TestCatalogue(t *testing.T) {
	t.Parallel()
	seen := map[Permission]bool{}
	for _, c := range Catalogue {
		if seen[c.Name] {
			t.Errorf("%s is listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.Description == "" {
			t.Errorf("%s has no description", c.Name)
		}
		if !KnownPermission(c.Name) {
			t.Errorf("KnownPermission(%s) = false", c.Name)
		}
	}
	if n := len(AllPermissions()); n != len(Catalogue) {
		t.Errorf("AllPermissions has %d, the catalogue %d", n, len(Catalogue))
	}
	for _, p := range []Permission{"", "users", "users.admin", "USERS.READ", " users.read", "*"} {
		if KnownPermission(p) {
			t.Errorf("KnownPermission(%q) = true", p)
		}
	}
}

func TestBuiltinRoles(t *testing.T) {
	t.Parallel()
	want := map[string]Permissions{
		AdministratorRole: AllPermissions(),
		UserManagerRole: NewPermissions(UsersRead, UsersInvite, UsersWrite, UsersDelete, UsersLock,
			GroupsManage, ImportRun, ExportRun, LicensesManage),
		AuditorRole: NewPermissions(UsersRead, AuditRead),
		ViewerRole:  NewPermissions(UsersRead),
	}
	roles := BuiltinRoles()
	if len(roles) != len(want) {
		t.Fatalf("%d built-in roles, want %d", len(roles), len(want))
	}
	for _, r := range roles {
		if !r.Builtin || r.Name == "" {
			t.Errorf("role %s: builtin %v, name %q", r.ID, r.Builtin, r.Name)
		}
		if !slices.Equal(r.Permissions, want[r.ID]) {
			t.Errorf("role %s has %v, want %v", r.ID, r.Permissions, want[r.ID])
		}
	}
}

func TestRoleInputRejectsUnknownPermissions(t *testing.T) {
	t.Parallel()
	perms := func(ps ...Permission) *[]Permission { return &ps }
	for _, tc := range []struct {
		name string
		in   RoleInput
		want map[string]string // field → code
	}{
		{"known permissions", RoleInput{Name: p("Helpdesk"), Permissions: perms(UsersRead, UsersLock)}, nil},
		{"no permissions", RoleInput{Name: p("Empty"), Permissions: perms()}, nil},
		{"unknown permission", RoleInput{Name: p("Root"), Permissions: perms(UsersRead, "users.root")}, map[string]string{"permissions": "role.unknown_permission"}},
		{"wrong case", RoleInput{Name: p("Shouty"), Permissions: perms("USERS.READ")}, map[string]string{"permissions": "role.unknown_permission"}},
		{"no name", RoleInput{Name: p("  ")}, map[string]string{"name": "role.name_required"}},
		{"a semicolon, which separates roles in files", RoleInput{Name: p("Sales; EMEA")}, map[string]string{"name": "role.name_semicolon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.in.validate(true)
			if len(got) != len(tc.want) {
				t.Fatalf("validate = %+v, want %v", got, tc.want)
			}
			for _, fe := range got {
				if tc.want[fe.Field] != fe.Code {
					t.Errorf("field %s: %s, want %s", fe.Field, fe.Code, tc.want[fe.Field])
				}
			}
		})
	}
}

func TestActorRequireAndCovers(t *testing.T) {
	t.Parallel()
	viewer := Actor{ID: "v", Permissions: NewPermissions(UsersRead)}
	if err := viewer.Require(UsersRead); err != nil {
		t.Errorf("Require(users.read) = %v", err)
	}
	e, ok := errs.As(viewer.Require(UsersDelete))
	if !ok || e.Kind != errs.Forbidden || e.Code != "auth.permission_denied" {
		t.Errorf("Require(users.delete) = %v, want forbidden auth.permission_denied", e)
	}
	if err := viewer.requireCovers("x", NewPermissions(UsersRead)); err != nil {
		t.Errorf("requireCovers(held) = %v", err)
	}
	e, ok = errs.As(viewer.requireCovers("the role Administrator", AllPermissions()))
	if !ok || e.Kind != errs.Forbidden || e.Code != "auth.escalation" {
		t.Errorf("requireCovers(everything) = %v, want forbidden auth.escalation", e)
	}
	if sys := System("test"); !sys.Permissions.Covers(AllPermissions()) || sys.ID != "" {
		t.Errorf("System = %+v, want every permission and no user id", sys)
	}
}

func TestGroupNameSemicolon(t *testing.T) {
	t.Parallel()
	got := (&GroupInput{Name: p("Sales; EMEA")}).validate(true)
	if len(got) != 1 || got[0].Code != "group.name_semicolon" {
		t.Errorf("validate = %+v, want group.name_semicolon", got)
	}
}
