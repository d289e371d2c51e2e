package user

import (
	"slices"
	"strings"
)

// Permission is one thing an actor may do. The catalogue is fixed; roles are named sets of these.
type Permission string

// The permission catalogue.
const (
	UsersRead       Permission = "users.read"
	UsersInvite     Permission = "users.invite"
	UsersWrite      Permission = "users.write"
	UsersDelete     Permission = "users.delete"
	UsersLock       Permission = "users.lock"
	RolesManage     Permission = "roles.manage"
	GroupsManage    Permission = "groups.manage"
	FieldsManage    Permission = "fields.manage"
	ImportRun       Permission = "import.run"
	ExportRun       Permission = "export.run"
	DirectoryManage Permission = "directory.manage"
	LicensesManage  Permission = "licenses.manage"
	AuditRead       Permission = "audit.read"
	SettingsManage  Permission = "settings.manage"
)

// PermissionInfo describes a permission for people choosing one.
type PermissionInfo struct {
	Name        Permission `json:"name"`
	Description string     `json:"description"`
}

// Catalogue lists every permission in a stable order.
var Catalogue = []PermissionInfo{
	{UsersRead, "See users, their roles, groups and custom fields."},
	{UsersInvite, "Invite people by email."},
	{UsersWrite, "Create users, edit their profiles, roles and group memberships, enable them."},
	{UsersDelete, "Delete users permanently."},
	{UsersLock, "Lock, unlock and disable users; send password reset emails."},
	{RolesManage, "Create, edit and delete custom roles."},
	{GroupsManage, "Create, edit and delete groups and their members and roles."},
	{FieldsManage, "Define custom profile fields."},
	{ImportRun, "Import users from files."},
	{ExportRun, "Export users to files."},
	{DirectoryManage, "Connect and synchronise LDAP and Active Directory."},
	{LicensesManage, "Assign and release application licences."},
	{AuditRead, "Read and export the audit log."},
	{SettingsManage, "Change settings and manage other people's API tokens."},
}

// KnownPermission reports whether p is in the catalogue.
func KnownPermission(p Permission) bool {
	for _, c := range Catalogue {
		if c.Name == p {
			return true
		}
	}
	return false
}

// Permissions is a set of permissions, kept sorted and without duplicates.
type Permissions []Permission

// NewPermissions returns the sorted, de-duplicated set of ps.
func NewPermissions(ps ...Permission) Permissions {
	s := slices.Clone(ps)
	slices.Sort(s)
	return Permissions(slices.Compact(s))
}

// AllPermissions is the whole catalogue as a set.
func AllPermissions() Permissions {
	ps := make([]Permission, len(Catalogue))
	for i, c := range Catalogue {
		ps[i] = c.Name
	}
	return NewPermissions(ps...)
}

// Has reports whether the set holds p.
func (s Permissions) Has(p Permission) bool {
	_, ok := slices.BinarySearch(s, p)
	return ok
}

// Covers reports whether every permission of other is in s: the no-escalation test.
func (s Permissions) Covers(other Permissions) bool {
	for _, p := range other {
		if !s.Has(p) {
			return false
		}
	}
	return true
}

// Union returns s ∪ other.
func (s Permissions) Union(other Permissions) Permissions {
	return NewPermissions(append(slices.Clone(s), other...)...)
}

// Missing returns the permissions of other that s lacks.
func (s Permissions) Missing(other Permissions) Permissions {
	var out Permissions
	for _, p := range other {
		if !s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// String joins the set with spaces, the form it is stored in.
func (s Permissions) String() string {
	parts := make([]string, len(s))
	for i, p := range s {
		parts[i] = string(p)
	}
	return strings.Join(parts, " ")
}

// ParsePermissions reads the stored form written by String.
func ParsePermissions(s string) Permissions {
	var ps []Permission
	for _, f := range strings.Fields(s) {
		ps = append(ps, Permission(f))
	}
	return NewPermissions(ps...)
}
