package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/user"
)

// idFrom is the last part of a redirect's path: the id of what a form created.
func idFrom(t *testing.T, p *page, prefix string) string {
	t.Helper()
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, prefix) {
		t.Fatalf("%s: status %d, location %q; want a redirect to %s…; body: %s", p.req, p.status, p.location, prefix, p.body)
	}
	return strings.TrimPrefix(p.location, prefix)
}

func TestRolePages(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx, sys := context.Background(), user.System("test")
		b := e.signIn("admin@example.org")
		b.get("/roles").want(http.StatusOK).has("Administrator", "User Manager", "Auditor", "Viewer", "Built-in", "Create role")
		b.get("/roles/"+user.UserManagerRole).want(http.StatusOK).
			has("User Manager Built-in", "Built-in roles cannot be changed.", "Users", "users.invite", "Invite people by email.", "Groups", "groups.manage").
			lacks("Save changes", "Delete role", "settings.manage")
		b.get("/roles/new").want(http.StatusOK).has("Create role", "Name", "Description", "Permissions", "Custom fields", "fields.manage", "Audit log")

		// Refusals in words, next to the field, keeping what was typed.
		p := b.post("/roles/new", url.Values{"name": {"administrator"}, "description": {"Mine"}, "permission": {"users.read"}})
		p.want(http.StatusConflict).has("Nothing was saved", "is, or looks like, the name of the built-in role Administrator")
		if p.inputValue("description") != "Mine" || !strings.Contains(p.body, `value="users.read" checked`) {
			t.Fatal("a refused role form forgets what was typed or ticked")
		}
		b.post("/roles/new", url.Values{"name": {""}}).want(http.StatusUnprocessableEntity).has("The role needs a name.")

		created := b.post("/roles/new", url.Values{"name": {"Helpdesk"}, "description": {"First line support"},
			"permission": {"users.read", "users.lock"}})
		id := idFrom(t, created, "/roles/")
		form := b.follow(created).has("The role Helpdesk is created.", "First line support", "2 permissions", "Save changes", "Delete role")
		b.get("/roles").has("Helpdesk Custom 2 First line support")

		// Edit under the version the form showed; the same form again is stale.
		v := form.inputValue("version")
		b.follow(b.post("/roles/"+id, url.Values{"version": {v}, "name": {"Help desk"}, "description": {"Support"},
			"permission": {"users.read", "users.lock", "users.invite"}})).has("Saved the changes to the role Help desk.", "3 permissions")
		stale := b.post("/roles/"+id, url.Values{"version": {v}, "name": {"Someone else"}, "permission": {"users.read"}})
		stale.want(http.StatusConflict).has("Someone else changed this role while you were editing")
		if stale.inputValue("name") != "Help desk" {
			t.Fatalf("a stale role form shows %q, not the saved name", stale.inputValue("name"))
		}
		role, err := e.app.Users.Role(ctx, sys, id)
		if err != nil || role.Name != "Help desk" || len(role.Permissions) != 3 {
			t.Fatalf("after a stale form the role is %+v, %v", role, err)
		}

		// Escalation: someone who manages roles but lacks settings.manage cannot grant it.
		perms := []user.Permission{user.UsersRead, user.RolesManage}
		name := "Role keeper"
		keeperRole, err := e.app.Users.CreateRole(ctx, sys, user.RoleInput{Name: &name, Permissions: &perms})
		if err != nil {
			t.Fatal(err)
		}
		kb := e.signIn(e.createUser("rita", keeperRole.ID).Username)
		kb.post("/roles/new", url.Values{"name": {"Settings"}, "permission": {"users.read", "settings.manage"}}).
			want(http.StatusForbidden).has("You cannot grant or change the role Settings: it carries permissions you do not hold (settings.manage).")
		// Nor change or delete a role that carries more than they hold.
		kb.post("/roles/"+id, url.Values{"version": {fmt.Sprint(role.Version)}, "name": {"Mine now"}, "permission": {"users.read"}}).
			want(http.StatusForbidden).has("permissions you do not hold (users.invite users.lock)")
		kb.follow(kb.post("/roles/"+id+"/delete", url.Values{"version": {fmt.Sprint(role.Version)}})).
			has("You cannot grant or change the role Help desk")

		// A user manager does not manage roles at all.
		mb := e.signIn(e.createUser("marek", user.UserManagerRole).Username)
		mb.get("/roles").want(http.StatusOK).lacks("Create role")
		mb.get("/roles/new").want(http.StatusForbidden).has("This needs the roles.manage permission.")
		mb.post("/roles/new", url.Values{"name": {"Mine"}, "permission": {"roles.manage"}}).
			want(http.StatusForbidden).has("This needs the roles.manage permission.")

		// A viewer reads roles but sees no write action, and each write is refused.
		vb := e.signIn(e.createUser("vic", user.ViewerRole).Username)
		if nav := vb.get("/users").body; !strings.Contains(nav, `href="/roles"`) {
			t.Fatal("a viewer's navigation lacks Roles")
		}
		vb.get("/roles").want(http.StatusOK).has("Help desk").lacks("Create role")
		vb.get("/roles/"+id).want(http.StatusOK).has("Help desk", "users.lock").lacks("Save changes", "Delete role")
		vb.post("/roles/"+id, url.Values{"version": {fmt.Sprint(role.Version)}, "name": {"X"}}).
			want(http.StatusForbidden).has("Not allowed", "This needs the roles.manage permission.")
		vb.post("/roles/"+id+"/delete", url.Values{"version": {fmt.Sprint(role.Version)}}).
			want(http.StatusForbidden).has("This needs the roles.manage permission.")
		b.follow(b.post("/roles/"+user.ViewerRole+"/delete", url.Values{"version": {"1"}})).has("Built-in roles cannot be deleted.")

		// Delete: the page asks first, then the role is gone.
		if !strings.Contains(b.get("/roles/"+id).body, `data-confirm="Delete the role Help desk? Every user and group that has it loses it`) {
			t.Fatal("the delete button of a role does not ask first")
		}
		b.follow(b.post("/roles/"+id+"/delete", url.Values{"version": {fmt.Sprint(role.Version)}})).
			has("The role Help desk is deleted").lacks("Help desk Custom")
		b.get("/roles/" + id).want(http.StatusNotFound)
	})
}
