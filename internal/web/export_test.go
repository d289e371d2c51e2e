package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/user"
)

// The users page downloads what its filters select, in the import format; another site cannot
// start the download, and a format that is not offered changes nothing.
func TestUsersExport(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("dora", user.ViewerRole)
		e.createUser("dorian", user.ViewerRole)
		e.createUser("xavier", user.ViewerRole)
		b := e.signIn("admin@example.org")
		href := b.get("/users?q=dor").link("Export CSV")
		if href != "/users/export?format=csv&q=dor" {
			t.Fatalf("the export link of a search is %q", href)
		}
		p := b.get(href).want(http.StatusOK)
		if ct, cd := p.header.Get("Content-Type"), p.header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(cd, "attachment; filename=usher-users-") {
			t.Fatalf("Content-Type %q, Content-Disposition %q", ct, cd)
		}
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(p.body, "\ufeff")), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "Username,Email*,First name*,Last name*,Action") ||
			!strings.HasPrefix(lines[1], "dora,dora@example.org,Dora,Tester,Update,Viewer") || !strings.HasPrefix(lines[2], "dorian,") {
			t.Fatalf("the export of a search for dor:\n%s", p.body)
		}
		if xlsx := b.get("/users?q=dor").link("Export XLSX"); xlsx != "/users/export?format=xlsx&q=dor" {
			t.Fatalf("the XLSX link is %q", xlsx)
		}
		b.follow(b.get("/users/export?format=pdf&q=dor")).has("Nothing was downloaded: The format must be csv or xlsx.")

		// A viewer reads users but may not export them: no button, and the address refuses.
		vb := e.signIn(e.createUser("vera", user.ViewerRole).Username)
		vb.get("/users").lacks("Export CSV", "Export XLSX")
		vb.get("/users/export?format=csv").want(http.StatusForbidden).has("This needs the export.run permission.")

		req, _ := http.NewRequest("GET", e.srv.URL+"/users/export?format=csv", nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		b.do(req).want(http.StatusForbidden).has("Start the download from usher's users page.")
	})
}
