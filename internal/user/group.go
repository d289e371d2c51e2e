package user

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/usherhq/usher/internal/errs"
)

// Group is a named set of users that gives its members its roles.
type Group struct {
	ID          string
	Name        string
	Description string
	ExternalID  string
	Source      Source
	// DirectoryID is the directory a sync keeps the group from: its name and members are the
	// directory's, read-only everywhere else.
	DirectoryID string
	Roles       []Role
	// MemberIDs are the members' ids, filled only where a caller needs them all (a sync).
	MemberIDs   []string
	MemberCount int64
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Permissions is the union of the group's roles' permissions: what joining it grants.
func (g *Group) Permissions() Permissions {
	var ps Permissions
	for _, r := range g.Roles {
		ps = ps.Union(r.Permissions)
	}
	return ps
}

// GroupInput creates a group or, with nil pointers for what stays, changes one.
type GroupInput struct {
	Name        *string
	Description *string
	ExternalID  *string
	RoleIDs     *[]string
}

// GroupFilter narrows a list of groups.
type GroupFilter struct {
	Q      string
	Limit  int // see PageSize
	Cursor string
}

// PageSize is how many groups a page holds at most: Limit, DefaultPage when it is not set.
func (f GroupFilter) PageSize() int { return pageSize(f.Limit) }

// canonicalise puts the name in the form it is stored in (see canonical).
func (in *GroupInput) canonicalise() { canonicalPtr(&in.Name) }

func (in *GroupInput) validate(creating bool) []errs.FieldError {
	var out []errs.FieldError
	if in.Name != nil || creating {
		n := strings.TrimSpace(deref(in.Name))
		switch fe := checkChars("name", "The group name", n); {
		case fe != nil:
			out = append(out, *fe)
		case n == "":
			out = append(out, errs.FieldError{Field: "name", Code: "group.name_required", Message: "The group needs a name."})
		case strings.Contains(n, ";"):
			// Files list a user's groups with ; between them (imports, exports).
			out = append(out, errs.FieldError{Field: "name", Code: "group.name_semicolon", Message: "The group name must not contain ;, which separates groups in import and export files."})
		case utf8.RuneCountInString(n) > 200:
			out = append(out, errs.FieldError{Field: "name", Code: "group.name_too_long", Message: "The group name must be at most 200 characters."})
		}
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > 1000 {
		out = append(out, errs.FieldError{Field: "description", Code: "group.description_too_long", Message: "The description must be at most 1000 characters."})
	}
	if in.ExternalID != nil {
		if fe := validateText("external_id", *in.ExternalID, MaxExternalID); fe != nil {
			out = append(out, *fe)
		}
	}
	return out
}

// readOnly refuses changes to what a directory owns of its group: the name and external id.
// Its description and roles stay an administrator's.
func (g *Group) readOnly(in GroupInput) []errs.FieldError {
	if g.DirectoryID == "" {
		return nil
	}
	var out []errs.FieldError
	ro := func(field string, v *string, cur string) {
		if v != nil && *v != cur {
			out = append(out, errs.FieldError{Field: field, Code: "group.read_only",
				Message: "This group comes from a directory: its " + strings.ReplaceAll(field, "_", " ") + " can only be changed there."})
		}
	}
	ro("name", in.Name, g.Name)
	ro("external_id", in.ExternalID, g.ExternalID)
	return out
}

// errDirectoryGroup refuses a change of a directory group's members (or the group itself)
// outside its directory's sync.
func errDirectoryGroup(g *Group) *errs.Error {
	return errs.E(errs.Conflict, "group.directory_owned", "The group "+g.Name+
		" comes from a directory: its members change there, and the next sync brings them here.")
}
