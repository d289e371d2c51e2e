package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

// readSheet reads a whole file of the given format.
func readSheet(t *testing.T, body []byte, format sheet.Format) [][]string {
	t.Helper()
	r, err := sheet.Open(bytes.NewReader(body), int64(len(body)), format, sheet.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows [][]string
	for {
		cells, _, err := r.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, slices.Clone(cells))
	}
}

// The export is the import format: direct roles and groups by name, the manager by email, the
// custom fields by label in their order, each row marked Update; cells a spreadsheet would
// run are neutralised and read back as they were. It follows the filters, and is audited.
func TestExportUsers(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx, sys := context.Background(), user.System("test")
		for _, in := range []user.FieldInput{
			{Name: "cost_center", Label: strptr("Cost center"), Type: user.TextField},
			{Name: "note", Label: strptr("Note"), Type: user.TextField},
		} {
			if _, err := e.app.Users.CreateField(ctx, sys, in); err != nil {
				t.Fatal(err)
			}
		}
		sales, err := e.app.Users.CreateGroup(ctx, sys, user.GroupInput{Name: strptr("Sales"), RoleIDs: &[]string{user.AuditorRole}})
		if err != nil {
			t.Fatal(err)
		}
		boss := e.createUser("zelda", user.ViewerRole)
		ann := e.createUser("anne", user.ViewerRole, user.UserManagerRole)
		note, cc := "=HYPERLINK(\"http://evil.example\")", "+44 20"
		if _, err := e.app.Users.UpdateUser(ctx, sys, ann.ID, user.AnyVersion, user.Patch{
			Profile:  user.Profile{Department: strptr("-Research"), ManagerID: &boss.ID, Custom: map[string]*string{"note": &note, "cost_center": &cc}},
			GroupIDs: &[]string{sales.ID}}); err != nil {
			t.Fatal(err)
		}

		r := e.admin.do("GET", "/api/v1/users/export?format=csv&q=anne", nil).want(http.StatusOK)
		if ct, cd := r.header.Get("Content-Type"), r.header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(cd, "attachment; filename=usher-users-") || !strings.HasSuffix(cd, ".csv") {
			t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
		}
		if bytes.Contains(r.body, []byte(",=HYPERLINK")) || bytes.Contains(r.body, []byte(",+44")) || bytes.Contains(r.body, []byte(",-Research")) {
			t.Errorf("a cell a spreadsheet would run is written as it is: %s", r.body)
		}
		rows := readSheet(t, r.body, sheet.CSV)
		want := [][]string{
			{"Username", "Email*", "First name*", "Last name*", "Action", "Roles", "Groups", "Phone", "Department", "Manager", "Cost center", "Note"},
			{"anne", "anne@example.org", "Anne", "Tester", "Update", "User Manager; Viewer", "Sales", "", "-Research", "zelda@example.org", "+44 20", note},
		}
		if len(rows) != len(want) {
			t.Fatalf("rows %q, want %q", rows, want)
		}
		for i := range want {
			if !slices.Equal(rows[i], want[i]) {
				t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
			}
		}

		// XLSX: the same rows, every cell text, nothing neutralised.
		x := e.admin.do("GET", "/api/v1/users/export?format=xlsx&q=anne", nil).want(http.StatusOK)
		if ct := x.header.Get("Content-Type"); ct != sheet.XLSX.ContentType() {
			t.Errorf("XLSX Content-Type %q", ct)
		}
		if got := readSheet(t, x.body, sheet.XLSX); len(got) != 2 || !slices.Equal(got[0], want[0]) || !slices.Equal(got[1], want[1]) {
			t.Errorf("XLSX rows %q, want %q", got, want)
		}

		// Everyone (as many as the list has); then a filter that selects nobody gives the header alone.
		all := readSheet(t, e.admin.do("GET", "/api/v1/users/export?format=csv", nil).want(http.StatusOK).body, sheet.CSV)
		var emails []string
		for _, row := range all[1:] {
			emails = append(emails, row[1])
		}
		page := e.list(e.admin, nil)
		if len(emails) != len(page.Users) || len(emails) < 5 {
			t.Errorf("exported %q; the list has %d users", emails, len(page.Users))
		}
		if none := readSheet(t, e.admin.do("GET", "/api/v1/users/export?format=csv&status=locked", nil).want(http.StatusOK).body, sheet.CSV); len(none) != 1 {
			t.Errorf("an export of nobody: %q", none)
		}
		e.admin.do("GET", "/api/v1/users/export?format=pdf", nil).want(http.StatusUnprocessableEntity)
		// Reading users is not enough: exporting them is a right of its own.
		e.viewer.do("GET", "/api/v1/users/export?format=csv", nil).problem(http.StatusForbidden, "auth.permission_denied")
		e.admin.do("GET", "/api/v1/users/export?format=csv&field=nope=1", nil).problem(http.StatusUnprocessableEntity, "field.unknown")

		events, _, err := e.app.Users.Audit(ctx, sys, audit.Filter{Action: "user.export"})
		if err != nil || len(events) != 4 || events[3].Details["format"] != "csv" || events[2].Details["format"] != "xlsx" {
			t.Fatalf("export events %+v, %v", events, err)
		}
	})
}

// The template is the header row alone, with this installation's custom fields; it needs the
// right to import.
func TestImportTemplate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		if _, err := e.app.Users.CreateField(context.Background(), user.System("test"), user.FieldInput{Name: "badge",
			Label: strptr("Badge number"), Type: user.TextField, Required: new(true)}); err != nil {
			t.Fatal(err)
		}
		for _, format := range []sheet.Format{sheet.CSV, sheet.XLSX} {
			r := e.admin.do("GET", "/api/v1/imports/template?format="+string(format), nil).want(http.StatusOK)
			rows := readSheet(t, r.body, format)
			want := []string{"Username", "Email*", "First name*", "Last name*", "Action", "Roles", "Groups", "Phone", "Department", "Manager", "Badge number*"}
			if len(rows) != 1 || !slices.Equal(rows[0], want) {
				t.Errorf("%s template: %q", format, rows)
			}
			if cd := r.header.Get("Content-Disposition"); cd != "attachment; filename=usher-import-template."+string(format) {
				t.Errorf("Content-Disposition %q", cd)
			}
		}
		e.viewer.do("GET", "/api/v1/imports/template?format=csv", nil).problem(http.StatusForbidden, "auth.permission_denied")
	})
}
