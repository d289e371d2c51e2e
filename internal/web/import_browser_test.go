package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/web/browsertest"
)

// TestImportInBrowser is the import of seed 000 in a real browser: a file of a thousand rows
// with twenty bad ones is uploaded, previewed with exactly those twenty and their reasons,
// imported with a live progress bar; the failed rows are downloaded, corrected as in a
// spreadsheet and imported again without an error.
func TestImportInBrowser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		jobs := e.app.Background.Jobs
		if err := jobs.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			jobs.Stop(ctx)
		})
		dir := t.TempDir()
		var file strings.Builder
		file.WriteString("Email*,First name*,Last name*,Department\n")
		for i := range 1000 {
			at := "@"
			if i%50 == 7 {
				at = "-at-" // twenty addresses without an @
			}
			fmt.Fprintf(&file, "person%04d%sexample.com,Person,Number %d,Dept %d\n", i, at, i, i%9)
		}
		path := filepath.Join(dir, "people.csv")
		if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
			t.Fatal(err)
		}

		b := e.tab()
		b.signIn("admin@example.org", testPassword)
		b.Follow(`a[href="/imports"]`)
		b.says("Import users", "No file has been imported yet.", "Download the template (CSV)")
		b.Check("imports")
		b.Upload("#file", path)
		b.Follow("form[data-upload] button[type=submit]")
		b.says("Import of people.csv", "Preview", "Nothing has changed yet.", "980 new users", "20 errors",
			"Row Column Value Reason 9 Email person0007-at-example.com The email address must contain exactly one @.")
		if n := browsertest.Eval[int](b.Tab, `document.querySelectorAll("#rows-title ~ .table-wrap tbody tr").length`); n != 20 {
			t.Fatalf("the preview lists %d rows with errors, want 20", n)
		}
		b.Check("import-preview")

		b.Follow("#import-state form button.primary")
		b.WaitText("#import-state h2", "Completed")
		b.says("980 new users", "20 errors", "Rows not imported")
		b.Check("import-completed")

		b.tabTo(`a[href$="/failed-rows"]`) // the download is reachable by keyboard

		// The failed rows, as the download gives them, corrected as a person would in a spreadsheet.
		got := browsertest.Eval[string](b.Tab, `fetch(document.querySelector("a[href$='/failed-rows']").href).then((r) => r.text())`)
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(got, "\uFEFF"))).ReadAll()
		if err != nil || len(rows) != 21 || rows[0][len(rows[0])-1] != "Reason" {
			t.Fatalf("failed rows: %v\n%s", err, got)
		}
		var fixed strings.Builder
		w := csv.NewWriter(&fixed)
		for _, row := range rows {
			row[0] = strings.Replace(row[0], "-at-", "@", 1)
			w.Write(row)
		}
		w.Flush()
		again := filepath.Join(dir, "people-failed-rows.csv")
		if err := os.WriteFile(again, []byte(fixed.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		// The second time with the keyboard alone: Tab to each control, Enter to submit (the
		// file is chosen in the dialog the file field opens).
		b.open("/imports")
		b.says("people.csv", "Completed")
		b.tabTo("#file")
		b.Upload("#file", again)
		b.tabTo(`input[name=invite]`)
		b.tabTo("form[data-upload] button[type=submit]")
		b.PressAndLoad(browsertest.KeyEnter)
		b.says("20 new users", "0 errors")
		b.tabTo("#import-state form button.primary")
		b.PressAndLoad(browsertest.KeyEnter)
		b.WaitText("#import-state h2", "Completed")
		b.open("/users")
		b.says("1,001 Total")

		// A file usher cannot read is refused with the reason, on the same page.
		bad := filepath.Join(dir, "people.pdf")
		if err := os.WriteFile(bad, []byte("%PDF-1.4"), 0o600); err != nil {
			t.Fatal(err)
		}
		b.open("/imports")
		b.Upload("#file", bad)
		b.Click("form[data-upload] button[type=submit]")
		b.WaitText("main .message", "Nothing was imported: usher reads .csv, .txt or .xlsx files")
		b.Check("imports-refused")
	})
}

// tabTo presses Tab until the element sel matches has the focus, as someone using the keyboard
// alone gets there, and fails if forty presses do not reach it.
func (b *tab) tabTo(sel string) {
	b.t.Helper()
	for range 40 {
		if b.HasFocus(sel) {
			return
		}
		b.Press(browsertest.KeyTab)
	}
	b.t.Fatalf("forty Tabs do not reach %s on %s; the focus is on %s", sel, b.URL(), b.Focused())
}
