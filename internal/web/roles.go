package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// permArea is one area of the permission catalogue (the part of a permission's name before the
// dot), as the role pages show and offer it.
type permArea struct {
	Label string
	Perms []permChoice
}

type permChoice struct {
	Name        user.Permission
	Description string
	Checked     bool
}

// Held is the area's ticked permissions: what a read-only role page lists.
func (a permArea) Held() []permChoice {
	var out []permChoice
	for _, p := range a.Perms {
		if p.Checked {
			out = append(out, p)
		}
	}
	return out
}

var areaLabels = map[string]string{"users": "Users", "roles": "Roles", "groups": "Groups", "fields": "Custom fields",
	"import": "Import", "export": "Export", "directory": "Directory", "licenses": "Licenses", "audit": "Audit log",
	"settings": "Settings"}

// permAreas is the catalogue grouped by area, in its order, with the permissions of ps ticked.
func permAreas(ps user.Permissions) []permArea {
	var out []permArea
	at := map[string]int{}
	for _, c := range user.Catalogue {
		area, _, _ := strings.Cut(string(c.Name), ".")
		i, ok := at[area]
		if !ok {
			label := areaLabels[area]
			if label == "" {
				label = area
			}
			out = append(out, permArea{Label: label})
			i = len(out) - 1
			at[area] = i
		}
		out[i].Perms = append(out[i].Perms, permChoice{Name: c.Name, Description: c.Description, Checked: ps.Has(c.Name)})
	}
	return out
}

// formState is what a form that came back carries: the message above it and those next to its
// fields.
type formState struct {
	Errors  map[string]string
	Message string
}

func (f *formState) form() *formState { return f }

// formPage is a page with a form that may come back with errors.
type formPage interface {
	page
	form() *formState
	shows(field string) bool
}

// permissionDenied is the code of an actor lacking a permission outright: not a form's mistake.
const permissionDenied = "auth.permission_denied"

// refuse shows a refused save: the form again, with the domain's messages, when the error is
// about what was asked (a field, a name taken, a grant beyond the actor's own permissions); an
// error page when it is not (a missing permission, something gone, a server problem).
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, err error, name string, p formPage) {
	msg, fields, status, ok := formError(err)
	if e, _ := errs.As(err); !ok || e.Code == permissionDenied {
		c.fail(w, r, err)
		return
	}
	f := p.form()
	f.Errors, f.Message = fields, summary(msg, fields, p.shows)
	c.render(w, r, status, name, p)
}

// refuseAction shows why an action of a page (a delete, a change of members) was refused: back on
// that page with the reason, or an error page when the reason is not about the action.
func (c *Console) refuseAction(w http.ResponseWriter, r *http.Request, back string, err error) {
	_, _, _, ok := formError(err)
	if e, _ := errs.As(err); !ok || e.Code == permissionDenied {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, back, flash{Kind: "error", Text: message(err)})
}

// version is the version a form says it showed.
func version(r *http.Request) int64 {
	v, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	return v
}

type rolesPage struct {
	base
	Roles []user.Role
}

func (c *Console) roles(w http.ResponseWriter, r *http.Request, m *me) {
	roles, err := c.deps.Users.Roles(r.Context(), m.Actor)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "roles", &rolesPage{base: base{Title: "Roles", Nav: "roles"}, Roles: roles})
}

type rolePage struct {
	base
	formState
	Role        *user.Role // nil on the "Create role" page
	New         bool
	Editable    bool
	Version     int64
	Name        string
	Description string
	Areas       []permArea
}

func (p *rolePage) shows(field string) bool {
	return field == "name" || field == "description" || field == "permissions"
}

// roleForm is a role's page with the role as it is stored.
func roleForm(m *me, role *user.Role) *rolePage {
	return &rolePage{base: base{Title: role.Name, Nav: "roles"}, Role: role, Version: role.Version, Name: role.Name,
		Description: role.Description, Areas: permAreas(role.Permissions),
		Editable: !role.Builtin && m.Actor.Can(user.RolesManage)}
}

// readRole reads a role's form into the input for the service and the values to show again.
func readRole(r *http.Request, p *rolePage) user.RoleInput {
	name, desc := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("description"))
	perms := []user.Permission{}
	for _, s := range r.PostForm["permission"] {
		perms = append(perms, user.Permission(s))
	}
	p.Name, p.Description, p.Areas = name, desc, permAreas(user.NewPermissions(perms...))
	return user.RoleInput{Name: &name, Description: &desc, Permissions: &perms}
}

// rolePage shows a role's permissions by area: a form for a custom role the signed-in user may
// manage, a list otherwise.
func (c *Console) rolePage(w http.ResponseWriter, r *http.Request, m *me) {
	role, err := c.deps.Users.Role(r.Context(), m.Actor, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "role", roleForm(m, role))
}

func (c *Console) newRoleForm(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.RolesManage); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "role", &rolePage{base: base{Title: "Create role", Nav: "roles"}, New: true, Editable: true,
		Areas: permAreas(nil)})
}

func (c *Console) newRole(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &rolePage{base: base{Title: "Create role", Nav: "roles"}, New: true, Editable: true}
	role, err := c.deps.Users.CreateRole(r.Context(), m.Actor, readRole(r, p))
	if err != nil {
		c.refuse(w, r, err, "role", p)
		return
	}
	c.redirect(w, r, "/roles/"+role.ID, flash{Kind: "ok", Text: "The role " + role.Name + " is created."})
}

// editRole saves a custom role's form under the version it showed: when someone else saved the
// role since, nothing is changed and the page shows their values and says so.
func (c *Console) editRole(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a, id := r.Context(), m.Actor, r.PathValue("id")
	cur, err := c.deps.Users.Role(ctx, a, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &rolePage{base: base{Title: cur.Name, Nav: "roles"}, Role: cur, Editable: true, Version: version(r)}
	role, err := c.deps.Users.UpdateRole(ctx, a, id, p.Version, readRole(r, p))
	if errs.Is(errs.PreconditionFailed, err) {
		fresh, err := c.deps.Users.Role(ctx, a, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		fp := roleForm(m, fresh)
		fp.Message = "Someone else changed this role while you were editing, so nothing was saved. The form now shows their changes: make yours again and save."
		c.render(w, r, http.StatusConflict, "role", fp)
		return
	}
	if err != nil {
		c.refuse(w, r, err, "role", p)
		return
	}
	c.redirect(w, r, "/roles/"+role.ID, flash{Kind: "ok", Text: "Saved the changes to the role " + role.Name + "."})
}

func (c *Console) deleteRole(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, a, id := r.Context(), m.Actor, r.PathValue("id")
	role, err := c.deps.Users.Role(ctx, a, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.deps.Users.DeleteRole(ctx, a, id, version(r)); err != nil {
		c.refuseAction(w, r, "/roles/"+id, err)
		return
	}
	c.redirect(w, r, "/roles", flash{Kind: "ok", Text: "The role " + role.Name + " is deleted; the users and groups that had it no longer do."})
}
