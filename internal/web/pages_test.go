package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
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
		if nav := vb.get("/users").body; !strings.Contains(nav, `href="/roles"`) || !strings.Contains(nav, `href="/groups"`) || !strings.Contains(nav, `href="/fields"`) {
			t.Fatal("a viewer's navigation lacks Roles, Groups or Fields")
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

func TestGroupPages(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx, sys := context.Background(), user.System("test")
		anna, bert, cleo := e.createUser("anna", user.ViewerRole), e.createUser("bert", user.ViewerRole), e.createUser("cleo", user.ViewerRole)
		b := e.signIn("admin@example.org")
		b.get("/groups").want(http.StatusOK).has("No groups yet.", "Create group")
		b.get("/groups/new").want(http.StatusOK).has("Create group", "Name", "External id", "User Manager")
		b.post("/groups/new", url.Values{"name": {" "}, "description": {"Kept"}}).want(http.StatusUnprocessableEntity).
			has("The group needs a name.")

		created := b.post("/groups/new", url.Values{"name": {"Sales"}, "description": {"The sales team"}, "external_id": {"cn=sales"},
			"role": {user.UserManagerRole}})
		id := idFrom(t, created, "/groups/")
		form := b.follow(created).has("The group Sales is created.", "0 members", "Delete group")
		if form.inputValue("external_id") != "cn=sales" || !strings.Contains(form.body, `value="`+user.UserManagerRole+`" checked`) {
			t.Fatal("the group page does not show its external id and role")
		}
		b.get("/groups").has("Sales The sales team cn=sales User Manager 0")

		// The picker: search, tick, add.
		picker := b.get("/groups/"+id+"?tab=members&add_q=ann").want(http.StatusOK).has("Find users to add", "Anna Tester", "Add selected").
			lacks("Bert Tester")
		if !strings.Contains(picker.body, `value="`+anna.ID+`"`) {
			t.Fatal("the picker offers no checkbox for the match")
		}
		b.get("/groups/" + id + "?tab=members&add_q=zzz").has("No user matches “zzz”.")
		added := b.follow(b.post("/groups/"+id+"/members", url.Values{"action": {"add"}, "id": {anna.ID, bert.ID, cleo.ID}}))
		added.has("Added 3 users to Sales.", "Members (3)", "Anna Tester", "Bert Tester", "Cleo Tester")
		b.get("/groups/" + id + "?tab=members&add_q=anna").has("Anna Tester (anna@example.org) already a member")
		b.follow(b.post("/groups/"+id+"/members", url.Values{"action": {"add"}})).has("Name at least one user.")

		// Remove asks first, saying how many, then removes only those.
		b.post("/groups/"+id+"/members", url.Values{"action": {"remove"}, "id": {anna.ID, bert.ID}}).want(http.StatusOK).
			has("Remove 2 members?", "They stay users", "Anna Tester", "Bert Tester", "Remove 2 members")
		b.follow(b.post("/groups/"+id+"/members", url.Values{"action": {"remove"}, "confirm": {"yes"}, "id": {anna.ID, bert.ID}})).
			has("Removed 2 members from Sales; they stay users.", "Members (1)", "Cleo Tester").lacks("Anna Tester")
		members, err := e.app.Users.ListUsers(ctx, sys, user.Filter{GroupID: id})
		if err != nil || len(members.Users) != 1 || members.Users[0].ID != cleo.ID {
			t.Fatalf("after removing two of three the members are %v, %v", members, err)
		}
		if _, err := e.app.Users.GetUser(ctx, sys, anna.ID); err != nil {
			t.Fatalf("a removed member is no longer a user: %v", err)
		}

		// Edit under the version the form showed; the same form again is stale.
		v := form.inputValue("version")
		b.follow(b.post("/groups/"+id, url.Values{"version": {v}, "name": {"Sales EMEA"}, "description": {"Europe"}, "external_id": {"cn=emea"},
			"role": {user.ViewerRole}})).has("Saved the changes to the group Sales EMEA.")
		stale := b.post("/groups/"+id, url.Values{"version": {v}, "name": {"Other"}, "role": {user.ViewerRole}})
		stale.want(http.StatusConflict).has("Someone else changed this group while you were editing")
		if stale.inputValue("name") != "Sales EMEA" || stale.inputValue("external_id") != "cn=emea" {
			t.Fatal("a stale group form does not show the values saved since")
		}

		// A user manager manages groups but cannot give one a role beyond their own.
		mb := e.signIn(e.createUser("marek", user.UserManagerRole).Username)
		mb.post("/groups/new", url.Values{"name": {"Admins"}, "role": {user.AdministratorRole}}).want(http.StatusForbidden).
			has("You cannot grant or change the role Administrator: it carries permissions you do not hold")

		// Paging: 55 groups make two pages, and Previous goes back.
		for i := range 55 {
			n := fmt.Sprintf("Team %02d", i)
			if _, err := e.app.Users.CreateGroup(ctx, sys, user.GroupInput{Name: &n}); err != nil {
				t.Fatal(err)
			}
		}
		first := b.get("/groups").want(http.StatusOK).has("Team 00").lacks("← Previous")
		second := b.get(first.link("Next →")).want(http.StatusOK).has("Team 54").lacks("Team 00", "Next →")
		if back := b.get(second.link("← Previous")); tbody(back.body) != tbody(first.body) {
			t.Fatal("Previous from the second page of groups is not the first")
		}
		b.get("/groups?q=sales").has("Sales EMEA").lacks("Team 01")
		b.get("/groups?q=zzz").has("No group’s name starts with “zzz”.", "Reset search")
		if p := b.get("/groups?cursor=forged"); p.status != http.StatusSeeOther || p.location != "/groups" {
			t.Fatalf("a forged cursor: %d %q", p.status, p.location)
		}

		// A viewer reads groups and members but sees no write action, and each write is refused.
		vb := e.signIn(e.createUser("vic", user.ViewerRole).Username)
		vb.get("/groups").want(http.StatusOK).has("Sales EMEA").lacks("Create group")
		vb.get("/groups/"+id).want(http.StatusOK).has("Sales EMEA", "Europe", "Viewer").lacks("Delete group", "Save changes")
		vb.get("/groups/"+id+"?tab=members&add_q=ann").want(http.StatusOK).has("Cleo Tester").lacks("Add members", "Remove selected", "Anna Tester")
		vb.get("/groups/new").want(http.StatusForbidden).has("This needs the groups.manage permission.")
		vb.post("/groups/"+id+"/members", url.Values{"action": {"add"}, "id": {anna.ID}}).want(http.StatusForbidden).
			has("This needs the groups.manage permission.")
		vb.post("/groups/"+id, url.Values{"version": {"2"}, "name": {"Mine"}}).want(http.StatusForbidden).has("This needs the groups.manage permission.")
		vb.post("/groups/"+id+"/delete", url.Values{"version": {"2"}}).want(http.StatusForbidden).has("This needs the groups.manage permission.")

		// Delete: the button asks first and says the members stay; then the group is gone, its members are not.
		g, _ := e.app.Users.Group(ctx, sys, id)
		if !strings.Contains(b.get("/groups/"+id).body, `data-confirm="Delete the group Sales EMEA with its 1 member? They stay users`) {
			t.Fatal("the delete button of a group does not ask first")
		}
		b.follow(b.post("/groups/"+id+"/delete", url.Values{"version": {fmt.Sprint(g.Version)}})).
			has("The group Sales EMEA is deleted. Every member is still a user")
		b.get("/groups/" + id).want(http.StatusNotFound)
		if _, err := e.app.Users.GetUser(ctx, sys, cleo.ID); err != nil {
			t.Fatalf("deleting a group deleted its member: %v", err)
		}
	})
}

func TestFieldPages(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx, sys := context.Background(), user.System("test")
		// Users made before a required field is defined, to read the pages and to hold a value.
		viewer, u := e.createUser("vic", user.ViewerRole), e.createUser("dora", user.ViewerRole)
		b := e.signIn("admin@example.org")
		b.get("/fields").want(http.StatusOK).has("No custom fields yet.", "Define field")
		b.get("/fields/new").want(http.StatusOK).has("Define field", "Label", "Name", "Type", "Required", "Pattern", "Options")

		p := b.post("/fields/new", url.Values{"name": {"Cost Centre"}, "label": {"Cost centre"}, "type": {"text"}})
		p.want(http.StatusUnprocessableEntity).has("Nothing was saved", "The name must start with a lowercase letter")
		if p.inputValue("label") != "Cost centre" {
			t.Fatal("a refused field form forgets what was typed")
		}
		b.post("/fields/new", url.Values{"name": {"size"}, "label": {"Size"}, "type": {"enum"}, "options": {"\n"}}).
			want(http.StatusUnprocessableEntity).has("An enum field needs at least one option.")
		b.post("/fields/new", url.Values{"name": {"email"}, "label": {"Email"}, "type": {"text"}}).
			want(http.StatusUnprocessableEntity).has("The name email is a built-in user attribute.")

		cc := b.post("/fields/new", url.Values{"name": {"cost_centre"}, "label": {"Cost centre"}, "type": {"text"}, "pattern": {"[A-Z]{2}[0-9]{4}"}})
		form := b.follow(cc).has("The field Cost centre is defined.", "cost_centre", "Text", "optional", "Pattern")
		b.follow(b.post("/fields/new", url.Values{"name": {"shirt"}, "label": {"Shirt size"}, "type": {"enum"}, "required": {"yes"},
			"options": {"S\r\nM\r\n\r\nL\r\n"}})).has("The field Shirt size is defined.", "required", "Options")
		b.get("/fields").has("Cost centre cost_centre Text Optional [A-Z]{2}[0-9]{4}", "Shirt size shirt One of a list (enum) Required S, M, L")

		// Edit under the version the form showed; the same form again is stale.
		v := form.inputValue("version")
		b.follow(b.post("/fields/cost_centre", url.Values{"version": {v}, "label": {"Cost center"}, "required": {"yes"}, "pattern": {"[A-Z]{2}[0-9]{3,4}"}})).
			has("Saved the changes to the field Cost center.", "required")
		stale := b.post("/fields/cost_centre", url.Values{"version": {v}, "label": {"Mine"}, "pattern": {""}})
		stale.want(http.StatusConflict).has("Someone else changed this field while you were editing")
		if stale.inputValue("label") != "Cost center" || stale.inputValue("pattern") != "[A-Z]{2}[0-9]{3,4}" {
			t.Fatal("a stale field form does not show the values saved since")
		}
		b.post("/fields/cost_centre", url.Values{"version": {fmt.Sprint(mustField(t, e, "cost_centre").Version)}, "label": {"Cost center"},
			"pattern": {"[unclosed"}}).want(http.StatusUnprocessableEntity).has("The pattern is not a valid regular expression")

		// The order: "Down" on the first field makes it second, on forms too; a place that does
		// not exist is refused in words.
		cv := fmt.Sprint(mustField(t, e, "cost_centre").Version)
		buttons := func(body string, want ...string) {
			t.Helper()
			for _, label := range []string{"Move Cost center up", "Move Cost center down", "Move Shirt size up", "Move Shirt size down"} {
				if got := strings.Contains(body, `aria-label="`+label+`"`); got != slices.Contains(want, label) {
					t.Errorf("button %q shown: %v", label, got)
				}
			}
		}
		list := b.get("/fields")
		buttons(list.body, "Move Cost center down", "Move Shirt size up")
		if !strings.Contains(list.body, `action="/fields/cost_centre/move"><input type="hidden" name="version" value="`+cv+`"><input type="hidden" name="to" value="2">`) {
			t.Fatal("the first field's Down button does not move it to place 2")
		}
		moved := b.follow(b.post("/fields/cost_centre/move", url.Values{"version": {cv}, "to": {"2"}})).
			has("Cost center is now number 2 of the custom fields.", "1 Down Shirt size shirt One of a list (enum) Required S, M, L 2 Up Cost center")
		buttons(moved.body, "Move Shirt size down", "Move Cost center up")
		if page := b.get("/users/" + u.ID).body; strings.Index(page, "Shirt size") > strings.Index(page, "Cost center") {
			t.Fatal("the user's form does not follow the fields' order")
		}
		b.follow(b.post("/fields/cost_centre/move", url.Values{"version": {fmt.Sprint(mustField(t, e, "cost_centre").Version)}, "to": {"3"}})).
			has("Enter a position from 1 to 2.")

		// A viewer reads fields but sees no write action, and each write is refused.
		vb := e.signIn(viewer.Username)
		buttons(vb.get("/fields").want(http.StatusOK).has("Cost center").lacks("Define field").body)
		vb.post("/fields/cost_centre/move", url.Values{"version": {"1"}, "to": {"1"}}).want(http.StatusForbidden).has("This needs the fields.manage permission.")
		vb.get("/fields/shirt").want(http.StatusOK).has("Shirt size", "S, M, L").lacks("Delete field", "Save changes")
		vb.get("/fields/new").want(http.StatusForbidden).has("This needs the fields.manage permission.")
		vb.post("/fields/new", url.Values{"name": {"x"}, "label": {"X"}, "type": {"text"}}).want(http.StatusForbidden).
			has("This needs the fields.manage permission.")
		vb.post("/fields/shirt", url.Values{"version": {"1"}, "label": {"X"}}).want(http.StatusForbidden).has("This needs the fields.manage permission.")
		vb.post("/fields/shirt/delete", url.Values{"version": {"1"}}).want(http.StatusForbidden).has("This needs the fields.manage permission.")

		// Delete: the button says every user's value goes too; then it does.
		size := "M"
		if _, err := e.app.Users.UpdateUser(ctx, sys, u.ID, user.AnyVersion, user.Patch{Profile: user.Profile{Custom: map[string]*string{"shirt": &size}}}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.get("/fields/shirt").body, `data-confirm="Delete the field Shirt size? Every user's value of it is deleted too.`) {
			t.Fatal("the delete button of a field does not ask first, saying the values go")
		}
		b.follow(b.post("/fields/shirt/delete", url.Values{"version": {"1"}})).
			has("The field Shirt size is deleted, with every user's value of it.").lacks("Shirt size shirt")
		b.get("/fields/shirt").want(http.StatusNotFound).has("There is no custom field called shirt.")
		if d, _ := e.app.Users.GetUser(ctx, sys, u.ID); d.Custom["shirt"] != "" {
			t.Fatalf("a deleted field's value stays: %v", d.Custom)
		}
	})
}

func mustField(t *testing.T, e *env, name string) user.Field {
	t.Helper()
	fields, err := e.app.Users.Fields(context.Background(), user.System("test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no field %s", name)
	return user.Field{}
}
