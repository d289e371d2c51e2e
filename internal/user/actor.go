package user

import (
	"fmt"

	"github.com/usherhq/usher/internal/errs"
)

// Actor is whoever asks for a change: a signed-in person, an API token, or usher itself. The
// auth layer builds it once per request from the session or token; services check it.
type Actor struct {
	ID          string // the user's id; empty for usher itself
	Name        string // shown in the audit log
	Permissions Permissions
	TokenID     string // set when the actor came with an API token
	RequestID   string
	ClientIP    string
}

// System is usher acting on its own (first start, migrations, schedules).
func System(what string) Actor {
	return Actor{Name: "system:" + what, Permissions: AllPermissions()}
}

// Can reports whether the actor holds p.
func (a Actor) Can(p Permission) bool { return a.Permissions.Has(p) }

// Require returns a Forbidden error unless the actor holds p.
func (a Actor) Require(p Permission) error {
	if a.Can(p) {
		return nil
	}
	return errs.E(errs.Forbidden, "auth.permission_denied",
		fmt.Sprintf("This needs the %s permission.", p))
}

// requireCovers refuses a grant that carries permissions the actor does not hold.
func (a Actor) requireCovers(what string, ps Permissions) error {
	missing := a.Permissions.Missing(ps)
	if len(missing) == 0 {
		return nil
	}
	return errs.E(errs.Forbidden, "auth.escalation",
		fmt.Sprintf("You cannot grant or change %s: it carries permissions you do not hold (%s).", what, missing))
}
