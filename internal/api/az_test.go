package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

// azRequest is one call of an operation, prepared so that an actor allowed to make it succeeds.
type azRequest struct {
	path    string
	body    any
	headers []string
	// needs is the permission this call needs; "" for any signed-in user, "public" for anyone.
	// When unset, the operation's x-permission decides.
	needs string
	// fresh asks for a new session of the actor (for logout, which ends it).
	fresh bool
	// relogin signs the actor in again afterwards (a password change ends every session).
	relogin bool
	// status, when set, is the answer everyone gets (setup after the Default Administrator exists).
	status int
	// upload, when set, is a CSV file sent as stage-import's multipart form instead of body.
	upload string
}

var seq atomic.Int64

func unique(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

// freshUser makes a Viewer in the given status as usher itself.
func (e *env) freshUser(st user.Status) string {
	e.t.Helper()
	ctx := context.Background()
	d := e.createUser(unique("target"), user.ViewerRole)
	switch st {
	case user.Locked:
		_, err := e.app.Users.ChangeStatus(ctx, user.System("test"), d.ID, user.Lock)
		must(e.t, err)
	case user.Disabled:
		_, err := e.app.Users.ChangeStatus(ctx, user.System("test"), d.ID, user.Disable)
		must(e.t, err)
	}
	return d.ID
}

// freshInvited invites a Viewer as usher itself.
func (e *env) freshInvited() string {
	e.t.Helper()
	res, err := e.app.Invitations.Invite(context.Background(), user.System("test"),
		[]user.InviteInput{{Email: unique("invited") + "@example.org", RoleIDs: []string{user.ViewerRole}}}, "")
	must(e.t, err)
	must(e.t, res[0].Err)
	return res[0].User.ID
}

func (e *env) freshRole() string {
	r, err := e.app.Users.CreateRole(context.Background(), user.System("test"), user.RoleInput{Name: strptr(unique("role")),
		Permissions: &[]user.Permission{user.UsersRead}})
	must(e.t, err)
	return r.ID
}

func (e *env) freshGroup() string {
	g, err := e.app.Users.CreateGroup(context.Background(), user.System("test"), user.GroupInput{Name: strptr(unique("group"))})
	must(e.t, err)
	return g.ID
}

func (e *env) freshField() string {
	f, err := e.app.Users.CreateField(context.Background(), user.System("test"), user.FieldInput{Name: unique("field"),
		Type: user.TextField, Label: strptr("A field")})
	must(e.t, err)
	return f.Name
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// stagedImport stages an invitation file as c, or as the Administrator when c may not import
// (the operation is then refused before it looks at the import), and returns its id.
func (e *env) stagedImport(c *client) string {
	e.t.Helper()
	if c != e.manager {
		c = e.admin
	}
	var imp struct {
		ID string `json:"id"`
	}
	c.upload("people.csv", []byte("Email\n"+unique("imp")+"@example.org\n")).want(http.StatusCreated).into(&imp)
	return imp.ID
}

// azFixtures prepares each operation of the API. An operation in the OpenAPI document without a
// fixture fails the test, so a new route cannot go unchecked.
func azFixtures(e *env, c *client) map[string]func() azRequest {
	users := "/api/v1/users/"
	anyIfMatch := []string{"If-Match", `"1"`}
	return map[string]func() azRequest{
		"login": func() azRequest {
			return azRequest{path: "/api/v1/auth/login", body: map[string]string{"login": "viewer", "password": testPassword}}
		},
		"logout": func() azRequest { return azRequest{path: "/api/v1/auth/logout", fresh: true} },
		"me":     func() azRequest { return azRequest{path: "/api/v1/auth/me"} },
		"setup": func() azRequest {
			return azRequest{path: "/api/v1/setup", status: http.StatusForbidden, body: map[string]string{
				"token": "setup_x", "email": "x@example.org", "first_name": "X", "last_name": "Y", "password": testPassword}}
		},
		"create-token": func() azRequest {
			return azRequest{path: "/api/v1/tokens", body: map[string]any{"name": unique("token")}}
		},
		"list-tokens": func() azRequest { return azRequest{path: "/api/v1/tokens"} },
		"revoke-token": func() azRequest {
			owner := c
			if owner.cookie == "" {
				owner = e.admin
			}
			var tok struct {
				ID string `json:"id"`
			}
			owner.do("POST", "/api/v1/tokens", map[string]any{"name": unique("token")}).want(http.StatusCreated).into(&tok)
			return azRequest{path: "/api/v1/tokens/" + tok.ID}
		},
		"list-users":  func() azRequest { return azRequest{path: "/api/v1/users?q=target&sort=-created_at&limit=5"} },
		"count-users": func() azRequest { return azRequest{path: "/api/v1/users/counts"} },
		"create-user": func() azRequest {
			n := unique("new")
			return azRequest{path: "/api/v1/users", body: map[string]any{"email": n + "@example.org", "first_name": "N", "last_name": "U"}}
		},
		"bulk-users": func() azRequest {
			return azRequest{path: "/api/v1/users/bulk", needs: string(user.UsersLock),
				body: map[string]any{"action": "unlock", "ids": []string{e.freshUser(user.Locked)}}}
		},
		"get-user": func() azRequest {
			return azRequest{path: users + e.freshUser(user.Active), needs: string(user.UsersRead)}
		},
		"update-user": func() azRequest {
			return azRequest{path: users + e.freshUser(user.Active), headers: anyIfMatch, body: map[string]any{"department": "Ops"}}
		},
		"delete-user":  func() azRequest { return azRequest{path: users + e.freshUser(user.Active), headers: anyIfMatch} },
		"lock-user":    func() azRequest { return azRequest{path: users + e.freshUser(user.Active) + "/lock"} },
		"unlock-user":  func() azRequest { return azRequest{path: users + e.freshUser(user.Locked) + "/unlock"} },
		"disable-user": func() azRequest { return azRequest{path: users + e.freshUser(user.Active) + "/disable"} },
		"enable-user":  func() azRequest { return azRequest{path: users + e.freshUser(user.Disabled) + "/enable"} },
		"user-audit":   func() azRequest { return azRequest{path: users + e.freshUser(user.Active) + "/audit"} },
		"list-roles":   func() azRequest { return azRequest{path: "/api/v1/roles"} },
		"get-role":     func() azRequest { return azRequest{path: "/api/v1/roles/viewer"} },
		"create-role": func() azRequest {
			return azRequest{path: "/api/v1/roles", body: map[string]any{"name": unique("role"), "permissions": []string{"users.read"}}}
		},
		"update-role": func() azRequest {
			return azRequest{path: "/api/v1/roles/" + e.freshRole(), headers: anyIfMatch, body: map[string]any{"description": "d"}}
		},
		"delete-role":      func() azRequest { return azRequest{path: "/api/v1/roles/" + e.freshRole(), headers: anyIfMatch} },
		"list-permissions": func() azRequest { return azRequest{path: "/api/v1/permissions"} },
		"list-groups":      func() azRequest { return azRequest{path: "/api/v1/groups"} },
		"get-group":        func() azRequest { return azRequest{path: "/api/v1/groups/" + e.freshGroup()} },
		"create-group": func() azRequest {
			return azRequest{path: "/api/v1/groups", body: map[string]any{"name": unique("group")}}
		},
		"update-group": func() azRequest {
			return azRequest{path: "/api/v1/groups/" + e.freshGroup(), headers: anyIfMatch, body: map[string]any{"description": "d"}}
		},
		"delete-group": func() azRequest { return azRequest{path: "/api/v1/groups/" + e.freshGroup(), headers: anyIfMatch} },
		"add-group-members": func() azRequest {
			return azRequest{path: "/api/v1/groups/" + e.freshGroup() + "/members/add", body: map[string]any{"user_ids": []string{e.freshUser(user.Active)}}}
		},
		"remove-group-members": func() azRequest {
			return azRequest{path: "/api/v1/groups/" + e.freshGroup() + "/members/remove", body: map[string]any{"user_ids": []string{e.freshUser(user.Active)}}}
		},
		"list-fields": func() azRequest { return azRequest{path: "/api/v1/fields"} },
		"create-field": func() azRequest {
			return azRequest{path: "/api/v1/fields", body: map[string]any{"name": unique("f"), "type": "text", "label": "F"}}
		},
		"update-field": func() azRequest {
			return azRequest{path: "/api/v1/fields/" + e.freshField(), headers: anyIfMatch, body: map[string]any{"label": "G"}}
		},
		"delete-field":    func() azRequest { return azRequest{path: "/api/v1/fields/" + e.freshField(), headers: anyIfMatch} },
		"list-audit":      func() azRequest { return azRequest{path: "/api/v1/audit?action=user."} },
		"export-audit":    func() azRequest { return azRequest{path: "/api/v1/audit/export?format=csv&action=user."} },
		"import-template": func() azRequest { return azRequest{path: "/api/v1/imports/template?format=csv"} },
		"stage-import": func() azRequest {
			return azRequest{path: "/api/v1/imports", upload: "Email\n" + unique("imp") + "@example.org\n"}
		},
		"list-imports":       func() azRequest { return azRequest{path: "/api/v1/imports?status=staged&q=people"} },
		"list-jobs":          func() azRequest { return azRequest{path: "/api/v1/jobs?kind=import&q=people"} },
		"get-import":         func() azRequest { return azRequest{path: "/api/v1/imports/" + e.stagedImport(c)} },
		"start-import":       func() azRequest { return azRequest{path: "/api/v1/imports/" + e.stagedImport(c) + "/start"} },
		"cancel-import":      func() azRequest { return azRequest{path: "/api/v1/imports/" + e.stagedImport(c) + "/cancel"} },
		"import-report":      func() azRequest { return azRequest{path: "/api/v1/imports/" + e.stagedImport(c) + "/report"} },
		"import-failed-rows": func() azRequest { return azRequest{path: "/api/v1/imports/" + e.stagedImport(c) + "/failed-rows"} },
		"export-users":       func() azRequest { return azRequest{path: "/api/v1/users/export?format=csv&status=active"} },
		"list-outbox":        func() azRequest { return azRequest{path: "/api/v1/mail/outbox?status=queued"} },
		"request-password-reset": func() azRequest {
			return azRequest{path: "/api/v1/auth/password-reset", body: map[string]string{"email": "viewer@example.org"}}
		},
		"confirm-password-reset": func() azRequest {
			id := e.freshUser(user.Active)
			must(e.t, e.app.Auth.SendReset(context.Background(), user.System("test"), id))
			return azRequest{path: "/api/v1/auth/password-reset/confirm", body: map[string]string{"token": e.mail.resetToken(e.t, id), "password": testPassword}}
		},
		"change-password": func() azRequest {
			return azRequest{path: "/api/v1/auth/password", relogin: true,
				body: map[string]string{"current_password": testPassword, "new_password": testPassword}}
		},
		"list-sessions": func() azRequest { return azRequest{path: "/api/v1/auth/sessions"} },
		"end-session": func() azRequest {
			who := "admin@example.org"
			if c != e.anon && c != e.admin {
				who = map[*client]string{e.viewer: "viewer", e.manager: "manager"}[c]
			}
			return azRequest{path: "/api/v1/auth/sessions/" + auth.SessionID(e.login(who).cookie)}
		},
		"invite": func() azRequest {
			return azRequest{path: "/api/v1/invitations", body: map[string]any{"invitations": []map[string]any{
				{"email": unique("inv") + "@example.org", "roles": []string{user.ViewerRole}}}}}
		},
		"accept-invitation": func() azRequest {
			id := e.freshInvited()
			return azRequest{path: "/api/v1/invitations/accept", body: map[string]string{"token": e.mail.invitationToken(e.t, id),
				"first_name": "New", "last_name": "Person", "password": testPassword}}
		},
		"resend-invitation":   func() azRequest { return azRequest{path: users + e.freshInvited() + "/invitation/resend"} },
		"revoke-invitation":   func() azRequest { return azRequest{path: users + e.freshInvited() + "/invitation/revoke"} },
		"invitation-link":     func() azRequest { return azRequest{path: users + e.freshInvited() + "/invitation/link"} },
		"send-password-reset": func() azRequest { return azRequest{path: users + e.freshUser(user.Active) + "/reset-password"} },

		"list-directories": func() azRequest { return azRequest{path: "/api/v1/directories"} },
		"create-directory": func() azRequest {
			return azRequest{path: "/api/v1/directories", body: e.directorySettings(unique("dir"))}
		},
		"get-directory": func() azRequest { return azRequest{path: "/api/v1/directories/" + e.savedDirectory()} },
		"update-directory": func() azRequest {
			return azRequest{path: "/api/v1/directories/" + e.savedDirectory(), body: map[string]any{"threshold": 20}, headers: anyIfMatch}
		},
		"delete-directory": func() azRequest {
			return azRequest{path: "/api/v1/directories/" + e.savedDirectory(), headers: anyIfMatch}
		},
		"test-directory-settings": func() azRequest {
			return azRequest{path: "/api/v1/directories/test", body: e.directorySettings("")}
		},
		"test-directory":     func() azRequest { return azRequest{path: "/api/v1/directories/" + e.savedDirectory() + "/test"} },
		"list-directory-ous": func() azRequest { return azRequest{path: "/api/v1/directories/" + e.savedDirectory() + "/ous"} },
		"sync-directory": func() azRequest {
			return azRequest{path: "/api/v1/directories/" + e.savedDirectory() + "/sync", body: map[string]any{"dry_run": true}}
		},
		"list-directory-runs": func() azRequest { return azRequest{path: "/api/v1/directories/" + e.savedDirectory() + "/runs"} },
		"get-directory-run": func() azRequest {
			dir, run := e.heldRun()
			return azRequest{path: "/api/v1/directories/" + dir + "/runs/" + run}
		},
		"get-directory-status": func() azRequest { return azRequest{path: "/api/v1/directories/" + e.savedDirectory() + "/status"} },
		"reset-directory": func() azRequest {
			return azRequest{path: "/api/v1/directories/" + e.savedDirectory() + "/reset", headers: anyIfMatch}
		},
		"confirm-directory-run": func() azRequest {
			dir, run := e.heldRun()
			return azRequest{path: "/api/v1/directories/" + dir + "/runs/" + run + "/confirm"}
		},
	}
}

// TestAuthorizationWalk calls every operation of the served OpenAPI document as anonymous,
// Viewer, User Manager and Administrator: 401 without credentials, 403 without the permission,
// 2xx with it.
func TestAuthorizationWalk(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		var doc struct {
			Paths map[string]map[string]struct {
				OperationID string `json:"operationId"`
				Permission  string `json:"x-permission"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(e.anon.do("GET", "/api/v1/openapi.json", nil).want(http.StatusOK).body, &doc); err != nil {
			t.Fatal(err)
		}
		held := map[string]user.Permissions{"anonymous": nil}
		for _, r := range user.BuiltinRoles() {
			held[r.ID] = r.Permissions
		}
		actors := []struct {
			name string
			c    *client
			role string
			user string
		}{{"anonymous", e.anon, "anonymous", ""}, {"viewer", e.viewer, user.ViewerRole, "viewer"},
			{"user manager", e.manager, user.UserManagerRole, "manager"}, {"administrator", e.admin, user.AdministratorRole, "admin@example.org"}}
		ops := 0
		for path, methods := range doc.Paths {
			for method, op := range methods {
				ops++
				if op.Permission == "" {
					t.Errorf("%s %s (%s) declares no x-permission", method, path, op.OperationID)
					continue
				}
				for _, a := range actors {
					fixture, ok := azFixtures(e, a.c)[op.OperationID]
					if !ok {
						t.Fatalf("no authorization fixture for operation %s (%s %s): add one", op.OperationID, method, path)
					}
					req := fixture()
					c := a.c
					if req.fresh && a.user != "" {
						c = e.login(a.user)
					}
					var res *response
					if req.upload != "" {
						res = c.upload("people.csv", []byte(req.upload))
					} else {
						res = c.do(strings.ToUpper(method), req.path, req.body, req.headers...)
					}
					needs := req.needs
					if needs == "" && op.Permission != "authenticated" {
						needs = op.Permission
					}
					want := "2xx"
					switch {
					case req.status != 0:
						want = fmt.Sprint(req.status)
					case op.Permission == "public":
					case a.c == e.anon:
						want = "401"
					case needs != "" && !held[a.role].Has(user.Permission(needs)):
						want = "403"
					}
					got := fmt.Sprint(res.status)
					if want == "2xx" && res.status >= 200 && res.status < 300 {
						got = "2xx"
					}
					if req.relogin && a.user != "" {
						a.c.cookie = e.login(a.user).cookie
					}
					if got != want {
						t.Errorf("%s %s (%s) as %s: status %d, want %s; body %s", strings.ToUpper(method), path, op.OperationID, a.name, res.status, want, res.body)
					}
				}
			}
		}
		if ops < 30 {
			t.Fatalf("walked only %d operations", ops)
		}
	})
}
