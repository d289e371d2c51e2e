package user

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/usherhq/usher/internal/errs"
)

// IDs of the built-in roles. Built-in roles cannot be edited or deleted.
const (
	AdministratorRole = "administrator"
	UserManagerRole   = "user_manager"
	AuditorRole       = "auditor"
	ViewerRole        = "viewer"
)

// Role is a named set of permissions.
type Role struct {
	ID          string
	Name        string
	Description string
	Builtin     bool
	Permissions Permissions
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// BuiltinRoles are created by the first migration; these are their permissions.
func BuiltinRoles() []Role {
	return []Role{
		{ID: AdministratorRole, Name: "Administrator", Builtin: true, Permissions: AllPermissions(),
			Description: "Everything, including roles, settings and directories."},
		{ID: UserManagerRole, Name: "User Manager", Builtin: true,
			Description: "Invites, imports and manages users and groups.",
			Permissions: NewPermissions(UsersRead, UsersInvite, UsersWrite, UsersDelete, UsersLock,
				GroupsManage, ImportRun, ExportRun, LicensesManage)},
		{ID: AuditorRole, Name: "Auditor", Builtin: true, Description: "Reads users and the audit log.",
			Permissions: NewPermissions(UsersRead, AuditRead)},
		{ID: ViewerRole, Name: "Viewer", Builtin: true, Description: "Reads users. The default role of imported users.",
			Permissions: NewPermissions(UsersRead)},
	}
}

// RoleInput creates a role or, with nil pointers for what stays, changes one.
type RoleInput struct {
	Name        *string
	Description *string
	Permissions *[]Permission
}

// canonicalise puts the name in the form it is stored in (see canonical).
func (in *RoleInput) canonicalise() { canonicalPtr(&in.Name) }

func (in *RoleInput) validate(creating bool) []errs.FieldError {
	var out []errs.FieldError
	if in.Name != nil || creating {
		n := strings.TrimSpace(deref(in.Name))
		switch fe := checkChars("name", "The role name", n); {
		case fe != nil:
			out = append(out, *fe)
		case n == "":
			out = append(out, errs.FieldError{Field: "name", Code: "role.name_required", Message: "The role needs a name."})
		case strings.Contains(n, ";"):
			// Files list a user's roles with ; between them (imports, exports).
			out = append(out, errs.FieldError{Field: "name", Code: "role.name_semicolon", Message: "The role name must not contain ;, which separates roles in import and export files."})
		case utf8.RuneCountInString(n) > 100:
			out = append(out, errs.FieldError{Field: "name", Code: "role.name_too_long", Message: "The role name must be at most 100 characters."})
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 500 {
		out = append(out, errs.FieldError{Field: "description", Code: "role.description_too_long", Message: "The description must be at most 500 characters."})
	}
	if in.Permissions != nil {
		for _, p := range *in.Permissions {
			if !KnownPermission(p) {
				out = append(out, errs.FieldError{Field: "permissions", Code: "role.unknown_permission",
					Message: "There is no permission called " + string(p) + "."})
			}
		}
	}
	return out
}

// checkBuiltinName refuses a custom role name that would pass for a built-in role's: the same
// name or id in other letter case, spacing or punctuation ("ADMINISTRATOR", "user_manager"), or
// in look-alike letters ("Аdministrator" with a Cyrillic А).
func checkBuiltinName(name string) error {
	key := roleNameKey(name)
	for _, b := range BuiltinRoles() {
		if key == roleNameKey(b.Name) || key == roleNameKey(b.ID) {
			msg := "The name " + name + " is, or looks like, the name of the built-in role " + b.Name +
				", so people could take one for the other. Choose another name."
			return &errs.Error{Kind: errs.Conflict, Code: "role.name_builtin", Message: msg,
				Fields: []errs.FieldError{{Field: "name", Code: "role.name_builtin", Message: msg}}}
		}
	}
	return nil
}

// roleNameKey is the Skeleton of a role name without its spaces and _ - . separators.
func roleNameKey(name string) string {
	strip := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || r == '_' || r == '-' || r == '.' {
				return -1
			}
			return r
		}, s)
	}
	return strip(Skeleton(strip(name)))
}
