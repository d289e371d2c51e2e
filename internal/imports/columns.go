// Package imports reads files of users into usher and writes users out in the same format: the
// columns of that format, the rules of each row, the staged import and the job that applies it,
// all through user.Service, so an imported row obeys what a form or the API obeys.
package imports

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// Column is what a column of an import file gives.
type Column string

const (
	Username   Column = "username"
	Email      Column = "email"
	FirstName  Column = "first_name"
	LastName   Column = "last_name"
	FullName   Column = "name" // "Ada Lovelace" or "Lovelace, Ada": split into first and last
	Action     Column = "action"
	Roles      Column = "roles"
	Groups     Column = "groups"
	Phone      Column = "phone"
	Department Column = "department"
	Manager    Column = "manager"
	Reason     Column = "reason" // the failed-rows file's own column: read past
	custom     Column = "field." // prefix of a custom field's column: field.NAME
)

// Field is the column of a custom field.
func Field(name string) Column { return custom + Column(name) }

// FieldName is the custom field a column gives, if it gives one.
func (c Column) FieldName() (string, bool) { return strings.CutPrefix(string(c), string(custom)) }

// The headers usher writes (export, template), in order; a * marks what a file of new users must have.
var headers = []struct {
	col    Column
	header string
}{
	{Username, "Username"}, {Email, "Email*"}, {FirstName, "First name*"}, {LastName, "Last name*"},
	{Action, "Action"}, {Roles, "Roles"}, {Groups, "Groups"}, {Phone, "Phone"}, {Department, "Department"},
	{Manager, "Manager"},
}

// aliases are the headers people's files use for each column, in the form key puts them in:
// usher's own, and those of the templates administrators bring from other products.
var aliases = map[string]Column{
	"username": Username, "user name": Username, "login": Username, "user id": Username, "userid": Username,
	"email": Email, "email address": Email, "email id": Email, "e mail": Email, "mail": Email, "e mail address": Email,
	"first name": FirstName, "firstname": FirstName, "given name": FirstName, "forename": FirstName,
	"last name": LastName, "lastname": LastName, "surname": LastName, "family name": LastName,
	"name": FullName, "full name": FullName, "display name": FullName,
	"action": Action, "status": Action, "user status": Action, "operation": Action,
	"roles": Roles, "role": Roles,
	"groups": Groups, "group": Groups, "group membership": Groups, "group memberships": Groups, "groups membership": Groups,
	"phone": Phone, "phone number": Phone, "mobile": Phone, "telephone": Phone,
	"department": Department, "dept": Department,
	"manager": Manager, "manager email": Manager,
	"reason": Reason,
}

// key is a header as it is compared: letters in lower case, without the * that marks a
// mandatory column, with spaces, underscores, hyphens and dots all one space.
func key(header string) string {
	h := strings.ToLower(strings.ReplaceAll(header, "*", ""))
	return strings.Join(strings.FieldsFunc(h, func(r rune) bool {
		return unicode.IsSpace(r) || r == '_' || r == '-' || r == '.'
	}), " ")
}

// Header is what a file's header row says: the column each cell gives (empty for a column usher
// does not know, which is read past), the unknown headers, and whether it is an invitation file.
type Header struct {
	Columns []Column
	Unknown []string // the headers of the columns read past, as the file has them
	// Invitations is set for a file of addresses only (email, and roles or groups at most):
	// each row invites a person.
	Invitations bool
}

// ReadHeader reads a file's header row. A custom field's column is headed by its name or its
// label. The file is refused, with the reason, when no column gives the email, when two
// columns give the same thing, or when a file that is not an invitation file lacks the names.
func ReadHeader(cells []string, fields []user.Field) (*Header, error) {
	byKey := map[string]Column{}
	for k, c := range aliases {
		byKey[k] = c
	}
	for _, f := range fields {
		byKey[key(f.Name)] = Field(f.Name) // a field's name is never a built-in one (user.Field)
	}
	for _, f := range fields {
		if _, taken := byKey[key(f.Label)]; !taken {
			byKey[key(f.Label)] = Field(f.Name)
		}
	}
	h := &Header{Columns: make([]Column, len(cells))}
	seen := map[Column]string{}
	for i, cell := range cells {
		if strings.TrimSpace(cell) == "" {
			continue
		}
		c, ok := byKey[key(cell)]
		if !ok {
			h.Unknown = append(h.Unknown, strings.TrimSpace(cell))
			continue
		}
		if prev, dup := seen[c]; dup {
			return nil, refuse("file.column_twice", fmt.Sprintf("The columns %q and %q both give %s: keep one of them and upload the file again.", prev, strings.TrimSpace(cell), c.words()))
		}
		seen[c], h.Columns[i] = strings.TrimSpace(cell), c
	}
	has := func(c Column) bool { _, ok := seen[c]; return ok }
	if !has(Email) {
		return nil, refuse("file.column_missing", "The file has no Email column: usher needs each person's email address. Name the column \"Email\" (the template shows every column) and upload the file again.")
	}
	if has(FullName) && (has(FirstName) || has(LastName)) {
		return nil, refuse("file.column_twice", "The file has a Name column and a First name or Last name column: keep either Name or both First name and Last name.")
	}
	h.Invitations = true
	for c := range seen {
		if c != Email && c != Roles && c != Groups && c != Reason {
			h.Invitations = false
		}
	}
	if !h.Invitations && !has(FullName) && (!has(FirstName) || !has(LastName)) {
		missing := "First name"
		if has(FirstName) {
			missing = "Last name"
		}
		return nil, refuse("file.column_missing", fmt.Sprintf("The file has no %s column. A file of users needs First name and Last name (or one Name column); a file of email addresses only, with Roles or Groups at most, invites each address.", missing))
	}
	return h, nil
}

func refuse(code, msg string) error { return errs.E(errs.Invalid, code, msg) }

// words is what a column gives, as a sentence says it.
func (c Column) words() string {
	if name, ok := c.FieldName(); ok {
		return "the custom field " + name
	}
	return map[Column]string{Username: "the username", Email: "the email", FirstName: "the first name",
		LastName: "the last name", FullName: "the name", Action: "the action", Roles: "the roles", Groups: "the groups",
		Phone: "the phone", Department: "the department", Manager: "the manager", Reason: "the reason"}[c]
}

// Headers is the header row usher writes (the export's and the template's): the built-in
// columns, then each custom field by its label, in their order; * marks what a new user needs.
// A field whose label reads as a built-in column or as an earlier field ("Email", "Cost
// center" beside "cost-center") is headed by its name, so that ReadHeader reads the row back.
func Headers(fields []user.Field) []string {
	out := make([]string, 0, len(headers)+len(fields))
	for _, h := range headers {
		out = append(out, h.header)
	}
	taken := map[string]bool{}
	for k := range aliases {
		taken[k] = true
	}
	for _, f := range fields {
		taken[key(f.Name)] = true
	}
	for _, f := range fields {
		label := f.Label
		if taken[key(label)] && key(label) != key(f.Name) {
			label = f.Name
		}
		taken[key(label)] = true
		if f.Required {
			label += "*"
		}
		out = append(out, label)
	}
	return out
}

// SplitName splits a Name cell into a first and a last name: "Lovelace, Ada" at the comma,
// "Ada King Lovelace" before the last word.
func SplitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	if l, f, ok := strings.Cut(name, ","); ok {
		return strings.TrimSpace(f), strings.TrimSpace(l)
	}
	words := strings.FieldsFunc(name, unicode.IsSpace) // any space: a no-break or an ideographic one too
	if len(words) < 2 {
		return name, ""
	}
	return strings.Join(words[:len(words)-1], " "), words[len(words)-1]
}
