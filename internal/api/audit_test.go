package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

// TestUserAuditOfUnknownUser: the audit trail of an id that is no user's, and never was, is the
// same 404 as reading that user, not an empty list; a deleted user's trail stays readable;
// without audit.read it is 403 whether or not the user exists.
func TestUserAuditOfUnknownUser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		known := e.freshUser("active")
		// A group's id is in the log, as the target of group.create, but it is no user's.
		var group struct {
			ID string `json:"id"`
		}
		e.admin.do("POST", "/api/v1/groups", map[string]any{"name": "Auditors"}).want(http.StatusCreated).into(&group)
		for _, id := range []string{uuid.NewString(), "not-a-user-id", group.ID} {
			want := e.admin.do("GET", "/api/v1/users/"+id, nil).problem(http.StatusNotFound, "user.not_found")
			got := e.admin.do("GET", "/api/v1/users/"+id+"/audit", nil).problem(http.StatusNotFound, "user.not_found")
			if got.Detail != want.Detail || got.Title != want.Title {
				t.Errorf("audit of %s: %+v, want the problem of GET /api/v1/users/%s: %+v", id, got, id, want)
			}
			e.viewer.do("GET", "/api/v1/users/"+id+"/audit", nil).problem(http.StatusForbidden, "auth.permission_denied")
		}
		e.viewer.do("GET", "/api/v1/users/"+known+"/audit", nil).problem(http.StatusForbidden, "auth.permission_denied")
		var page struct {
			Events []struct {
				Action   string `json:"action"`
				TargetID string `json:"target_id"`
			} `json:"events"`
		}
		e.admin.do("GET", "/api/v1/users/"+known+"/audit", nil).want(http.StatusOK).into(&page)
		if len(page.Events) == 0 {
			t.Fatal("a known user's audit trail is empty")
		}
		for _, ev := range page.Events {
			if ev.TargetID != known {
				t.Errorf("event %s about %s in the trail of %s", ev.Action, ev.TargetID, known)
			}
		}
	})
}
