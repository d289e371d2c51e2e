package user

import (
	"strings"
	"time"
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

func (in *RoleInput) validate(creating bool) []errs.FieldError {
	var out []errs.FieldError
	if in.Name != nil || creating {
		n := strings.TrimSpace(deref(in.Name))
		switch {
		case n == "":
			out = append(out, errs.FieldError{Field: "name", Code: "role.name_required", Message: "The role needs a name."})
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
