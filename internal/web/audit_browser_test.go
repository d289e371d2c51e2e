package web_test

import (
	"testing"

	"github.com/usherhq/usher/internal/user"
)

// TestAuditAccountOutboxInBrowser checks the audit log, the account page (with a token just
// made, its copy button shown by the script) and the outbox with axe-core, screenshotted at both
// widths.
func TestAuditAccountOutboxInBrowser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.createUser("dora", user.ViewerRole)
		b := e.tab()
		b.signIn("admin@example.org", testPassword)
		for _, p := range []struct{ path, name string }{
			{"/audit", "audit"}, {"/audit?action=nothing.", "audit-empty"}, {"/audit?from=yesterday", "audit-bad-filter"},
			{"/outbox", "outbox"}, {"/account", "account"},
		} {
			b.open(p.path)
			b.Check(p.name)
		}
		b.open("/account")
		b.Fill("Name", "nightly sync")
		b.Follow("#tokens form button.primary")
		b.says("you will not see it again", "nightly sync")
		b.WaitVisible("button[data-copy]")
		b.Check("account-new-token")
	})
}
