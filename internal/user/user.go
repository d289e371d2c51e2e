// Package user is usher's domain: users and their statuses, roles, permissions, groups and
// custom profile fields, with the rules that govern them. The API, the console, the CLI, the
// importer and directory sync all change users through Service, so each rule lives here once.
package user

import (
	"time"
)

// Source says who owns a user's attributes.
type Source string

// The sources of users.
const (
	Local     Source = "local"     // created in usher: console, API, invitation or import
	Directory Source = "directory" // synchronised from LDAP or Active Directory
	SCIM      Source = "scim"      // pushed by an identity provider over SCIM
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool { return s == Local || s == Directory || s == SCIM }

// User is a person known to usher.
type User struct {
	ID          string
	Username    string
	Email       string
	FirstName   string
	LastName    string
	Phone       string
	Department  string
	ManagerID   string // a user of usher, when the manager is one
	ManagerName string // a free-text name, when the manager comes from a directory as text
	Status      Status
	Source      Source
	ExternalID  string
	DirectoryID string // the directory a directory user comes from
	// DisabledByDirectory is set when the user's directory disabled them (a sync enables only
	// those it disabled, never one an administrator disabled).
	DisabledByDirectory bool
	Custom              map[string]string // custom field name → canonical value
	CreatedAt           time.Time
	UpdatedAt           time.Time
	LastLoginAt         *time.Time
	ActivatedAt         *time.Time // first time the user became active; nil while only invited
	Version             int64
	// DefaultAdmin marks the Default Administrator, who cannot be deleted, disabled, locked
	// permanently or lose the Administrator role.
	DefaultAdmin bool
	// PasswordHash is the argon2id hash; empty when the user has no password.
	PasswordHash string
}

// Name is the user's display name.
func (u *User) Name() string {
	switch {
	case u.FirstName != "" && u.LastName != "":
		return u.FirstName + " " + u.LastName
	case u.FirstName != "" || u.LastName != "":
		return u.FirstName + u.LastName
	}
	return u.Username
}

// Accepted reports whether the user ever became active.
func (u *User) Accepted() bool { return u.ActivatedAt != nil }

// SourceOwned reports whether the user's profile attributes belong to a directory or SCIM
// source and so are read-only everywhere else.
func (u *User) SourceOwned() bool { return u.Source != Local }

// Counts is the number of users in each status.
type Counts struct {
	Total    int64 `json:"total"`
	Active   int64 `json:"active"`
	Invited  int64 `json:"invited"`
	Locked   int64 `json:"locked"`
	Disabled int64 `json:"disabled"`
}

// Detail is a user with their roles and groups resolved, as one user's page shows them.
type Detail struct {
	*User
	Roles  []RoleGrant
	Groups []GroupRef
}

// RoleGrant is one of a user's effective roles and where it comes from.
type RoleGrant struct {
	Role
	// Inherited is set when the role comes only through groups; it is read-only on the user.
	Inherited bool
	Via       []GroupRef // the groups that grant it
	Direct    bool       // granted to the user directly
}

// GroupRef names a group.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
