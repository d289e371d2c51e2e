package imports_test

import (
	"slices"
	"testing"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/user"
)

var fields = []user.Field{{Name: "cost_center", Label: "Cost center"}, {Name: "badge", Label: "Badge number", Required: true}}

// The header styles of the templates administrators bring, read as they are.
func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name        string
		header      []string
		want        []imports.Column
		unknown     []string
		invitations bool
	}{
		{"usher's own template", imports.Headers(fields),
			[]imports.Column{imports.Username, imports.Email, imports.FirstName, imports.LastName, imports.Action, imports.Roles,
				imports.Groups, imports.Phone, imports.Department, imports.Manager, imports.Field("cost_center"), imports.Field("badge")}, nil, false},
		{"name, email id and user status (a bulk-import sample)", []string{"Name*", "Email ID*", "User Status*"},
			[]imports.Column{imports.FullName, imports.Email, imports.Action}, nil, false},
		{"a strict template with other fields", []string{"User Name*", "First Name*", "Last Name*", "Email Address*", "Roles", "Groups", "cost_center", "Employee type"},
			[]imports.Column{imports.Username, imports.FirstName, imports.LastName, imports.Email, imports.Roles, imports.Groups, imports.Field("cost_center"), ""},
			[]string{"Employee type"}, false},
		{"an invitation file", []string{"email", "group membership"}, []imports.Column{imports.Email, imports.Groups}, nil, true},
		{"an invitation file with a failed-rows reason", []string{" EMAIL ", "Roles", "reason"}, []imports.Column{imports.Email, imports.Roles, imports.Reason}, nil, true},
		{"snake case, spaces and an empty header", []string{"first_name", "LAST-NAME", "e-mail", ""}, []imports.Column{imports.FirstName, imports.LastName, imports.Email, ""}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := imports.ReadHeader(tc.header, fields)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.Columns, tc.want) || !slices.Equal(h.Unknown, tc.unknown) || h.Invitations != tc.invitations {
				t.Errorf("columns %q, unknown %q, invitations %v; want %q, %q, %v", h.Columns, h.Unknown, h.Invitations, tc.want, tc.unknown, tc.invitations)
			}
		})
	}
}

func TestReadHeaderRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string
		code   string
		msg    string
	}{
		{"no email", []string{"Username", "First name", "Last name"}, "file.column_missing",
			"The file has no Email column: usher needs each person's email address. Name the column \"Email\" (the template shows every column) and upload the file again."},
		{"email twice", []string{"Email", "First name", "Last name", "Email Address"}, "file.column_twice",
			"The columns \"Email\" and \"Email Address\" both give the email: keep one of them and upload the file again."},
		{"no last name", []string{"Email", "First name", "Department"}, "file.column_missing",
			"The file has no Last name column. A file of users needs First name and Last name (or one Name column); a file of email addresses only, with Roles or Groups at most, invites each address."},
		{"name and first name", []string{"Email", "Name", "First name"}, "file.column_twice",
			"The file has a Name column and a First name or Last name column: keep either Name or both First name and Last name."},
		{"a custom field by name and by label", []string{"Email", "Name", "cost_center", "Cost Center"}, "file.column_twice",
			"The columns \"cost_center\" and \"Cost Center\" both give the custom field cost_center: keep one of them and upload the file again."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imports.ReadHeader(tc.header, fields)
			e, ok := errs.As(err)
			if !ok || e.Code != tc.code || e.Message != tc.msg || e.Kind != errs.Invalid {
				t.Fatalf("error %v, want %s: %s", err, tc.code, tc.msg)
			}
		})
	}
}

func TestSplitName(t *testing.T) {
	for in, want := range map[string][2]string{
		"Ada Lovelace": {"Ada", "Lovelace"}, "Ada King Lovelace": {"Ada King", "Lovelace"}, "Lovelace, Ada": {"Ada", "Lovelace"},
		" Ada ": {"Ada", ""}, "": {"", ""}, "José María  García": {"José María", "García"},
		"Ada\u00a0Lovelace": {"Ada", "Lovelace"}, "山田\u3000太郎": {"山田", "太郎"},
	} {
		if f, l := imports.SplitName(in); f != want[0] || l != want[1] {
			t.Errorf("SplitName(%q) = %q, %q; want %q", in, f, l, want)
		}
	}
}

// A custom field labelled like a built-in column, or like an earlier field, is written under
// its name, and the header row usher writes reads back to the same columns.
func TestHeadersRoundTrip(t *testing.T) {
	fields := []user.Field{{Name: "work_email", Label: "Email"}, {Name: "cost_center", Label: "Cost center"},
		{Name: "cc2", Label: "cost-center"}, {Name: "dept_code", Label: "Department"}}
	h := imports.Headers(fields)
	if got := h[len(h)-4:]; !slices.Equal(got, []string{"work_email", "Cost center", "cc2", "dept_code"}) {
		t.Fatalf("custom headers %q", got)
	}
	read, err := imports.ReadHeader(h, fields)
	if err != nil {
		t.Fatal(err)
	}
	want := []imports.Column{imports.Field("work_email"), imports.Field("cost_center"), imports.Field("cc2"), imports.Field("dept_code")}
	if got := read.Columns[len(read.Columns)-4:]; !slices.Equal(got, want) || read.Columns[1] != imports.Email || read.Columns[8] != imports.Department {
		t.Errorf("read back as %q", read.Columns)
	}
}
