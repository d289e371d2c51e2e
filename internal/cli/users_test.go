package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `usher users export` writes the users the filters select in the import format, to a file
// (its extension chooses the format) or to standard output, and says how many; a refused
// export leaves no file behind.
func TestUsersExport(t *testing.T) {
	dir := t.TempDir()
	_, _, stop := serve(t, []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}, "--data-dir", dir)
	stop()

	code, stdout, stderr := run(t, nil, "users", "export", "--data-dir", dir)
	if code != 0 || !strings.HasPrefix(stdout, "\ufeffUsername,Email*,First name*,Last name*,Action") ||
		!strings.Contains(stdout, "admin@example.org") || !strings.Contains(stderr, "Exported 1 user to standard output") {
		t.Fatalf("export to standard output: exit %d\n%s\n%s", code, stdout, stderr)
	}

	out := filepath.Join(dir, "users.xlsx")
	code, stdout, stderr = run(t, nil, "users", "export", "--data-dir", dir, "-o", out, "--status", "active")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "Exported 1 user to "+out) {
		t.Fatalf("export to a file: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.HasPrefix(string(b), "PK\x03\x04") {
		t.Fatalf("%s is not an XLSX file: %v", out, err)
	}

	bad := filepath.Join(dir, "bad.csv")
	code, _, stderr = run(t, nil, "users", "export", "--data-dir", dir, "-o", bad, "--field", "nope=1")
	if code != 1 || !strings.Contains(stderr, "There is no custom field called nope.") {
		t.Fatalf("an unknown field: exit %d: %s", code, stderr)
	}
	code, _, stderr = run(t, nil, "users", "export", "--data-dir", dir, "-o", filepath.Join(dir, "users.pdf"))
	if code != 1 || !strings.Contains(stderr, "usher writes .csv or .xlsx files") {
		t.Fatalf("-o users.pdf: exit %d: %s", code, stderr)
	}
	code, _, stderr = run(t, nil, "users", "export", "--data-dir", dir, "--format", "pdf")
	if code != 1 || !strings.Contains(stderr, "The format must be csv or xlsx.") {
		t.Fatalf("format pdf: exit %d: %s", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); strings.Contains(strings.Join(names(entries), " "), "bad.csv") ||
		strings.Contains(strings.Join(names(entries), " "), ".users.pdf") {
		t.Fatalf("a refused export left a file: %v", names(entries))
	}
}

func names(entries []os.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// `usher users import FILE` previews a file, and with --wait applies it here and prints the
// report; --dry-run changes nothing; --failed-rows writes the rows that failed.
func TestUsersImport(t *testing.T) {
	dir := t.TempDir()
	_, _, stop := serve(t, []string{"USHER_ADMIN_EMAIL=admin@example.org", "USHER_ADMIN_PASSWORD=a long enough secret"}, "--data-dir", dir)
	stop()
	file := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(file, []byte("Email;First name;Last name\nada@example.com;Ada;Lovelace\nbad;Bad;Row\ngrace@example.com;Grace;Hopper\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, nil, "users", "import", file, "--dry-run", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "people.csv: 3 rows. Preview: 2 to create, 0 to update, 0 to delete, 0 to skip, 1 with errors.") ||
		!strings.Contains(stdout, "Row 3, Email: ") || !strings.Contains(stdout, "Dry run: nothing was changed.") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	failed := filepath.Join(dir, "failed.csv")
	code, stdout, stderr = run(t, nil, "users", "import", file, "--wait", "--failed-rows", failed, "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "completed: 2 created, 0 updated, 0 deleted, 0 skipped, 1 failed.") {
		t.Fatalf("import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(failed)
	if err != nil || !strings.Contains(string(b), "Email;First name;Last name;Reason\nbad;Bad;Row;Email: ") &&
		!strings.Contains(string(b), "Email,First name,Last name,Reason\nbad,Bad,Row,Email: ") {
		t.Fatalf("failed rows: %v\n%s", err, b)
	}
	code, stdout, _ = run(t, nil, "users", "export", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "ada@example.com") || !strings.Contains(stdout, "grace@example.com") {
		t.Fatalf("the imported users are not there: %s", stdout)
	}
	code, _, stderr = run(t, nil, "users", "import", filepath.Join(dir, "missing.csv"), "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "cannot read") {
		t.Fatalf("a missing file: exit %d: %s", code, stderr)
	}
}
